"""updateUser and changePassword: who may change what, and what a change revokes."""

import asyncio

import pytest

from tests.support import LOGIN, PASSWORD, code, error, make_superuser

UPDATE = """
mutation Update($id: ID!, $input: UpdateUserInput!) {
  updateUser(id: $id, input: $input) { id email fullName isActive isVerified isSuperuser updatedAt }
}"""
CHANGE_PASSWORD = "mutation Change($input: ChangePasswordInput!) { changePassword(input: $input) }"
UNKNOWN_ID = "00000000-0000-0000-0000-000000000000"


async def test_a_user_updates_their_own_name_and_email(api):
    ann, token = await api.signed_up("ann@example.com")

    result = await api(
        UPDATE, {"id": ann["id"], "input": {"fullName": " Ann B ", "email": "Ann.B@Example.com"}}, token=token
    )

    updated = result["data"]["updateUser"]
    assert (updated["fullName"], updated["email"]) == ("Ann B", "ann.b@example.com")
    assert updated["updatedAt"] > ann["updatedAt"]
    assert await api.can_log_in("ann.b@example.com")


async def test_omitted_fields_stay_and_explicit_nulls_are_refused(api):
    ann, token = await api.signed_up("ann@example.com", full_name="Ann")

    unchanged = await api(UPDATE, {"id": ann["id"], "input": {}}, token=token)
    nulled = await api(UPDATE, {"id": ann["id"], "input": {"fullName": None}}, token=token)

    assert unchanged["data"]["updateUser"]["fullName"] == "Ann"
    assert code(nulled) == "BAD_USER_INPUT"
    assert set(error(nulled)["extensions"]["fields"]) == {"fullName"}


@pytest.mark.parametrize("target", ["other", "unknown"])
async def test_a_non_superuser_is_forbidden_on_any_other_id(api, target):
    _, token = await api.signed_up("ann@example.com")
    bob = await api.register("bob@example.com")
    target_id = bob["id"] if target == "other" else UNKNOWN_ID

    result = await api(UPDATE, {"id": target_id, "input": {"fullName": "Hacked"}}, token=token)

    assert code(result) == "FORBIDDEN"


@pytest.mark.parametrize("flag", ["isActive", "isVerified", "isSuperuser"])
async def test_account_flags_are_superuser_only(api, flag):
    ann, token = await api.signed_up("ann@example.com")

    result = await api(UPDATE, {"id": ann["id"], "input": {flag: True}}, token=token)

    assert code(result) == "FORBIDDEN"


async def test_a_superuser_sets_flags_and_gets_not_found_for_unknown_ids(api, settings):
    bob = await api.register("bob@example.com")
    root = await make_superuser(settings, api)

    flags = {"isVerified": True, "isSuperuser": True}
    result = await api(UPDATE, {"id": bob["id"], "input": flags}, token=root)
    missing = await api(UPDATE, {"id": UNKNOWN_ID, "input": {"fullName": "Ghost"}}, token=root)

    assert result["data"]["updateUser"]["isVerified"] is True
    assert result["data"]["updateUser"]["isSuperuser"] is True
    assert result["data"]["updateUser"]["email"] == "bob@example.com"
    assert code(missing) == "NOT_FOUND"


async def test_deactivation_signs_the_user_out_everywhere_for_good(api, settings):
    bob, bob_token = await api.signed_up("bob@example.com")
    root = await make_superuser(settings, api)

    await api(UPDATE, {"id": bob["id"], "input": {"isActive": False}}, token=root)

    assert await api.me(bob_token) is None
    login = await api(LOGIN, {"input": {"email": "bob@example.com", "password": PASSWORD}})
    assert code(login) == "UNAUTHENTICATED"
    assert error(login)["message"] == "Wrong email or password."
    await api(UPDATE, {"id": bob["id"], "input": {"isActive": True}}, token=root)
    assert await api.me(bob_token) is None  # reactivation revives no old token
    assert await api.can_log_in("bob@example.com")


async def test_taking_another_users_email_is_a_conflict(api):
    ann, token = await api.signed_up("ann@example.com")
    await api.register("bob@example.com")

    result = await api(UPDATE, {"id": ann["id"], "input": {"email": "BOB@example.com"}}, token=token)

    assert code(result) == "CONFLICT"


async def test_update_user_requires_sign_in_and_a_valid_id(api):
    _, token = await api.signed_up("ann@example.com")
    api.client.cookies.clear()

    assert code(await api(UPDATE, {"id": UNKNOWN_ID, "input": {}})) == "UNAUTHENTICATED"
    bad = await api(UPDATE, {"id": "12", "input": {}}, token=token)
    assert error(bad)["extensions"] == {"code": "BAD_USER_INPUT", "fields": {"id": "must be a UUID"}}


async def test_change_password_keeps_this_session_and_revokes_the_others(api):
    await api.register("ann@example.com")
    current = await api.login("ann@example.com")
    other = await api.login("ann@example.com")

    result = await api(
        CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": "a new long secret"}}, token=current
    )

    assert result == {"data": {"changePassword": True}}
    assert await api.me(current) is not None
    assert await api.me(other) is None
    assert await api.can_log_in("ann@example.com", password="a new long secret")
    assert code(await api(LOGIN, {"input": {"email": "ann@example.com", "password": PASSWORD}})) == "UNAUTHENTICATED"


@pytest.mark.parametrize(
    ("current", "new", "bad_field"),
    [
        ("wrong password", "a new long secret", "currentPassword"),
        (PASSWORD, "short", "newPassword"),
        (PASSWORD, "x" * 73, "newPassword"),
        (PASSWORD, "qwertyuiop", "newPassword"),
        (PASSWORD, "ann@example.com", "newPassword"),
    ],
)
async def test_change_password_names_the_bad_field(api, current, new, bad_field):
    _, token = await api.signed_up("ann@example.com")

    result = await api(CHANGE_PASSWORD, {"input": {"currentPassword": current, "newPassword": new}}, token=token)

    assert code(result) == "BAD_USER_INPUT"
    assert set(error(result)["extensions"]["fields"]) == {bad_field}
    assert await api.can_log_in("ann@example.com")  # the password is unchanged


async def test_change_password_requires_sign_in(api):
    api.client.cookies.clear()
    result = await api(CHANGE_PASSWORD, {"input": {"currentPassword": PASSWORD, "newPassword": "a new long secret"}})

    assert code(result) == "UNAUTHENTICATED"


async def test_no_connection_is_held_while_a_password_is_hashed(make_app):
    """A login waits for bcrypt between its read and its write: no pooled connection waits with it."""
    api = make_app(database_pool_size=1, database_max_overflow=0, database_pool_timeout=1, bcrypt_rounds=12)
    await api.register("ann@example.com")

    logins = [api.login("ann@example.com") for _ in range(6)]
    results = await asyncio.gather(*logins, api("{ me { id } }"))

    # Six hashes queued on a pool of one connection, none timed out: six tokens of their own.
    assert len(set(results[:6])) == 6
    assert results[6] == {"data": {"me": None}}
