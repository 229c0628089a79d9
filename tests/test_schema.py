from pathlib import Path

from lunchtogether.graphql.schema import export_schema


def test_the_checked_in_schema_is_the_live_schema(project_root: Path):
    checked_in = (project_root / "schema.graphql").read_text()

    assert checked_in == export_schema(), "schema.graphql is stale: run `lunchtogether export-schema schema.graphql`"


def test_the_schema_has_the_contracts_operations():
    sdl = export_schema()

    for line in [
        "me: User",
        "user(id: ID!): User",
        "users(first: Int! = 20, after: String, search: String): UserConnection!",
        "register(input: RegisterInput!): RegisterPayload!",
        "login(input: LoginInput!): LoginPayload!",
        "logout(everywhere: Boolean! = false): Boolean!",
        "refreshSession: LoginPayload!",
        "revokeSession(id: ID!): Boolean!",
        "sessions: [Session!]!",
        "updateUser(id: ID!, input: UpdateUserInput!): User!",
        "changePassword(input: ChangePasswordInput!): Boolean!",
    ]:
        assert f"  {line}\n" in sdl, line
