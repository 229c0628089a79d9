"""The rules of each user workflow, checked on the workflow itself, without GraphQL or HTTP in between.

Workflows are built as a request builds them (`Dependencies` on a `RequestDatabase`), on the database
of the pass; the ones that write run inside `db.transaction()`, as a mutation does. Their files go
to a directory of the test's own, so that a test can see exactly what was stored and deleted.
"""

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncEngine

from lunchtogether.config import Settings
from lunchtogether.core.exceptions import (
    ConflictError,
    InvalidCredentialsError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from lunchtogether.database import Database, RequestDatabase
from lunchtogether.dependencies import Dependencies, Services
from lunchtogether.models import Session
from lunchtogether.schemas.pagination import Keyset
from lunchtogether.schemas.user import UserResponse, UserUpdate
from lunchtogether.workflows.user.authenticate import AuthenticateInput, Identity
from lunchtogether.workflows.user.change_password import ChangePasswordInput
from lunchtogether.workflows.user.count_users import CountUsersInput
from lunchtogether.workflows.user.delete_user import DeleteUserInput
from lunchtogether.workflows.user.get_users import GetUsersInput
from lunchtogether.workflows.user.list_users import ListUsersInput
from lunchtogether.workflows.user.login import LoginInput
from lunchtogether.workflows.user.logout import LogoutInput
from lunchtogether.workflows.user.register import RegisterInput
from lunchtogether.workflows.user.update_user import UpdateUserInput
from lunchtogether.workflows.user.upload_avatar import UploadAvatarInput
from tests.support import PASSWORD, image, make_settings, stored_files

CLIENT_IP = "203.0.113.7"
NEW_PASSWORD = "a new long secret"


@pytest.fixture
async def make_deps(
    engine: AsyncEngine, settings: Settings, tmp_path: Path
) -> AsyncIterator[Callable[..., Dependencies]]:
    """What a request gets, with settings of the pass changed by `overrides`."""
    made: list[Services] = []

    def make(**overrides: object) -> Dependencies:
        services = Services.from_settings(make_settings(settings.sqlalchemy_url, upload_dir=str(tmp_path), **overrides))
        made.append(services)
        return Dependencies(RequestDatabase(Database(engine, native_reads=settings.database_native_reads)), services)

    yield make
    for services in made:
        await services.close()


@pytest.fixture
def deps(make_deps: Callable[..., Dependencies]) -> Dependencies:
    return make_deps()


async def register(
    deps: Dependencies, email: str = "ann@example.com", *, full_name: str = "Ann", superuser: bool = False
) -> UserResponse:
    """An account made as an operator makes one: no limit applies."""
    data = RegisterInput(email=email, password=PASSWORD, full_name=full_name)
    async with deps.db.transaction():
        return (await deps.register().execute(data, client_ip=None, superuser=superuser)).user


async def log_in(deps: Dependencies, email: str = "ann@example.com", password: str = PASSWORD) -> str:
    async with deps.db.transaction():
        output = await deps.login().execute(LoginInput(email=email, password=password), client_ip=CLIENT_IP)
    return output.access_token


async def authenticate(deps: Dependencies, token: str) -> Identity | None:
    return await deps.authenticate().execute(AuthenticateInput(token=token))


async def identity(deps: Dependencies, token: str) -> Identity:
    """Who `token` signs in, asserting that it does."""
    found = await authenticate(deps, token)
    assert found is not None
    return found


async def update_user(deps: Dependencies, actor: UserResponse, user_id: UUID, **changes: object) -> UserResponse:
    actor_in_db = await deps.users.get_by_id(actor.id)
    assert actor_in_db is not None
    async with deps.db.transaction():
        data = UpdateUserInput(user_id=user_id, changes=UserUpdate(**changes))
        return (await deps.update_user().execute(data, actor=actor_in_db)).user


async def upload_avatar(deps: Dependencies, actor: UserResponse, content: bytes) -> UserResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield content

    actor_in_db = await deps.users.get_by_id(actor.id)
    assert actor_in_db is not None
    async with deps.db.transaction():
        return (await deps.upload_avatar().execute(UploadAvatarInput(chunks=chunks()), actor=actor_in_db)).user


# RegisterWorkflow


async def test_register_refuses_an_email_taken_in_any_case(deps):
    await register(deps, "ann@example.com")

    with pytest.raises(ConflictError):
        await register(deps, "ANN@Example.COM")


async def test_register_makes_a_superuser_only_when_asked(deps):
    ann = await register(deps, "ann@example.com")
    root = await register(deps, "root@example.com", superuser=True)

    assert (ann.is_superuser, root.is_superuser) == (False, True)
    stored = await deps.users.get_by_email("root@example.com")
    assert stored is not None
    assert stored.is_superuser


async def test_register_is_limited_per_client_ip_and_never_for_an_operator(make_deps):
    deps = make_deps(rate_limit_register="2/minute")

    async def register_from(ip: str | None, email: str) -> None:
        data = RegisterInput(email=email, password=PASSWORD, full_name="Someone")
        async with deps.db.transaction():
            await deps.register().execute(data, client_ip=ip)

    await register_from(CLIENT_IP, "one@example.com")
    await register_from(CLIENT_IP, "two@example.com")
    with pytest.raises(RateLimitedError):
        await register_from(CLIENT_IP, "three@example.com")
    await register_from("198.51.100.1", "elsewhere@example.com")
    for n in range(3):
        await register_from(None, f"operator{n}@example.com")

    assert await deps.users.get_by_email("three@example.com") is None
    assert await deps.users.get_by_email("operator2@example.com") is not None


# LoginWorkflow


async def test_login_says_the_same_for_a_wrong_password_and_an_unknown_email(deps):
    await register(deps)

    with pytest.raises(InvalidCredentialsError) as wrong_password:
        await log_in(deps, "ann@example.com", "not the password")
    with pytest.raises(InvalidCredentialsError) as unknown_email:
        await log_in(deps, "nobody@example.com")

    assert str(wrong_password.value) == str(unknown_email.value)


async def test_login_refuses_an_inactive_user_even_with_the_right_password(deps):
    ann = await register(deps)
    await deps.users.update(ann.id, {"is_active": False})

    with pytest.raises(InvalidCredentialsError):
        await log_in(deps)


async def test_login_starts_the_session_its_token_names(deps):
    ann = await register(deps)

    signed_in = await identity(deps, await log_in(deps))

    assert signed_in.user.id == ann.id
    assert await deps.sessions.revoke(signed_in.session_id, now=datetime.now(UTC))


# AuthenticateWorkflow


async def test_authenticate_honours_only_a_live_token_of_an_active_user(deps, engine):
    ann = await register(deps)
    expired, revoked, live = [await log_in(deps) for _ in range(3)]
    past = datetime.now(UTC) - timedelta(seconds=1)
    async with engine.begin() as connection:
        expired_id = (await identity(deps, expired)).session_id
        await connection.execute(update(Session).where(Session.id == expired_id).values(expires_at=past))
    await deps.sessions.revoke((await identity(deps, revoked)).session_id, now=datetime.now(UTC))

    assert await authenticate(deps, expired) is None
    assert await authenticate(deps, revoked) is None
    assert await authenticate(deps, "not.a.jwt") is None
    assert (await identity(deps, live)).user.id == ann.id
    await deps.users.update(ann.id, {"is_active": False})
    assert await authenticate(deps, live) is None


# ChangePasswordWorkflow


async def change_password(deps: Dependencies, token: str, current: str, new: str) -> None:
    actor = await identity(deps, token)
    async with deps.db.transaction():
        await deps.change_password().execute(
            ChangePasswordInput(current_password=current, new_password=new), actor=actor
        )


async def test_change_password_refuses_a_wrong_current_password(deps):
    await register(deps)

    with pytest.raises(InvalidInputError) as refused:
        await change_password(deps, await log_in(deps), "not the password", NEW_PASSWORD)

    assert set(refused.value.fields) == {"currentPassword"}
    assert await log_in(deps)  # the password is unchanged


async def test_change_password_refuses_a_new_password_resembling_the_email(deps):
    await register(deps)

    with pytest.raises(InvalidInputError) as refused:
        await change_password(deps, await log_in(deps), PASSWORD, "Ann@Example.com")

    assert set(refused.value.fields) == {"newPassword"}


async def test_change_password_signs_out_every_other_session_and_keeps_the_current_one(deps):
    await register(deps)
    current, other = await log_in(deps), await log_in(deps)

    await change_password(deps, current, PASSWORD, NEW_PASSWORD)

    assert await authenticate(deps, current) is not None
    assert await authenticate(deps, other) is None
    with pytest.raises(InvalidCredentialsError):
        await log_in(deps)
    assert await authenticate(deps, await log_in(deps, password=NEW_PASSWORD)) is not None


# UpdateUserWorkflow


async def test_update_user_refuses_a_non_superuser_another_id_before_any_lookup(deps, count_statements):
    ann = await register(deps)
    actor = await deps.users.get_by_id(ann.id)
    assert actor is not None
    data = UpdateUserInput(user_id=uuid4(), changes=UserUpdate(full_name="Mallory"))

    async with count_statements() as statements:
        with pytest.raises(PermissionDeniedError):
            await deps.update_user().execute(data, actor=actor)

    assert statements == []


async def test_update_user_tells_a_superuser_of_an_unknown_id(deps):
    root = await register(deps, "root@example.com", superuser=True)

    with pytest.raises(NotFoundError):
        await update_user(deps, root, uuid4(), full_name="Nobody")


async def test_update_user_lets_only_superusers_change_flags(deps):
    ann = await register(deps)
    root = await register(deps, "root@example.com", superuser=True)

    for flag in ("is_active", "is_verified", "is_superuser"):
        with pytest.raises(PermissionDeniedError):
            await update_user(deps, ann, ann.id, **{flag: not getattr(ann, flag)})
    renamed = await update_user(deps, ann, ann.id, full_name="Ann B")
    verified = await update_user(deps, root, ann.id, is_verified=True)

    assert (renamed.full_name, renamed.is_verified) == ("Ann B", False)
    assert (verified.full_name, verified.is_verified) == ("Ann B", True)


async def test_update_user_refuses_an_email_of_another_user(deps):
    ann = await register(deps)
    await register(deps, "bob@example.com")

    with pytest.raises(ConflictError):
        await update_user(deps, ann, ann.id, email="Bob@Example.com")
    unchanged = await update_user(deps, ann, ann.id, email="ann@example.com")

    assert unchanged.email == "ann@example.com"


async def test_update_user_deactivation_revokes_every_token_and_reactivation_revives_none(deps):
    ann = await register(deps)
    root = await register(deps, "root@example.com", superuser=True)
    tokens = [await log_in(deps), await log_in(deps)]

    await update_user(deps, root, ann.id, is_active=False)
    await update_user(deps, root, ann.id, is_active=True)

    assert [await authenticate(deps, token) for token in tokens] == [None, None]
    assert await authenticate(deps, await log_in(deps)) is not None


# LogoutWorkflow


async def test_logout_revokes_the_presented_token_only(deps):
    await register(deps)
    presented, other = await log_in(deps), await log_in(deps)

    async with deps.db.transaction():
        await deps.logout().execute(LogoutInput(), actor=await identity(deps, presented))
        await deps.logout().execute(LogoutInput(), actor=None)  # signed out already: nothing to revoke

    assert await authenticate(deps, presented) is None
    assert await authenticate(deps, other) is not None


# UploadAvatarWorkflow and DeleteUserWorkflow


async def test_upload_avatar_stores_the_new_file_and_deletes_the_one_it_replaces(deps, tmp_path):
    ann = await register(deps)

    await upload_avatar(deps, ann, image("PNG"))
    first = stored_files(tmp_path)
    await upload_avatar(deps, ann, image("JPEG"))
    second = stored_files(tmp_path)

    assert len(first) == len(second) == 1
    assert first != second
    assert second[0].suffix == ".jpg"


async def test_upload_avatar_refuses_what_is_not_an_image_and_stores_nothing(deps, tmp_path):
    ann = await register(deps)

    with pytest.raises(InvalidInputError) as refused:
        await upload_avatar(deps, ann, b"not an image at all")

    assert set(refused.value.fields) == {"file"}
    assert stored_files(tmp_path) == []


async def test_delete_user_deletes_the_account_its_tokens_and_its_files(deps, tmp_path):
    ann = await register(deps)
    token = await log_in(deps)
    await upload_avatar(deps, ann, image("PNG"))
    assert len(stored_files(tmp_path)) == 1

    async with deps.db.transaction():
        deleted = await deps.delete_user().execute(DeleteUserInput(user_id=ann.id), actor=None)
    async with deps.db.transaction():
        deleted_again = await deps.delete_user().execute(DeleteUserInput(user_id=ann.id), actor=None)

    assert (deleted.deleted, deleted_again.deleted) == (True, False)
    assert stored_files(tmp_path) == []
    assert await deps.users.get_by_id(ann.id) is None
    assert await authenticate(deps, token) is None


# ListUsersWorkflow, GetUsersWorkflow and CountUsersWorkflow


async def test_list_users_pages_newest_first_to_the_end(deps):
    made = [await register(deps, f"user{n}@example.com") for n in range(5)]
    newest_first = sorted(made, key=lambda user: (user.created_at, user.id), reverse=True)
    pages = []
    after: Keyset | None = None
    while True:
        page = await deps.list_users().execute(ListUsersInput(first=2, after=after, search=None))
        pages.append(page)
        if not page.has_next_page:
            break
        after = Keyset(page.items[-1].created_at, page.items[-1].id)

    assert [len(page.items) for page in pages] == [2, 2, 1]
    assert [user.id for page in pages for user in page.items] == [user.id for user in newest_first]
    assert [page.has_previous_page for page in pages] == [False, True, True]
    assert (await deps.count_users().execute(CountUsersInput(search=None))).total == 5


@pytest.mark.parametrize(("search", "found"), [("%", ["100% Ann"]), ("_", ["Bob_Smith"]), ("ANN", ["100% Ann"])])
async def test_search_takes_percent_and_underscore_literally_and_ignores_case(deps, search, found):
    for email, full_name in [
        ("ann@example.com", "100% Ann"),
        ("bob@example.com", "Bob_Smith"),
        ("carol@x.org", "Carol"),
    ]:
        await register(deps, email, full_name=full_name)

    page = await deps.list_users().execute(ListUsersInput(first=10, after=None, search=search))
    count = await deps.count_users().execute(CountUsersInput(search=search))

    assert [user.full_name for user in page.items] == found
    assert count.total == len(found)


async def test_get_users_answers_each_id_in_order_with_none_for_unknown_ones(deps):
    ann = await register(deps, "ann@example.com")
    bob = await register(deps, "bob@example.com")
    unknown = uuid4()

    output = await deps.get_users().execute(GetUsersInput(ids=[bob.id, unknown, ann.id, bob.id]))

    assert [user.id if user else None for user in output.users] == [bob.id, None, ann.id, bob.id]
