"""Migrations go up and down on both databases and agree with the models."""

from uuid import uuid4

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Uuid, column, func, insert, inspect, table, text
from sqlalchemy.ext.asyncio import create_async_engine

from lunchtogether.models import Base
from tests.support import make_settings, migrate


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_and_upgrade_again(backend, create_database):
    settings = make_settings(await create_database(backend))

    await migrate(settings)
    assert await _tables(settings.sqlalchemy_url) >= {"users", "sessions", "alembic_version"}
    await migrate(settings, "base", downgrade=True)
    assert await _tables(settings.sqlalchemy_url) <= {"alembic_version"}
    await migrate(settings)
    assert await _tables(settings.sqlalchemy_url) >= {"users", "sessions"}


async def _avatar_and_tokens(url: str, column: str, tokens_table: str) -> tuple[str, int]:
    """The one user's avatar, read from `column`, and how many tokens (sessions from 0003 on) are left."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            avatar = (await connection.execute(text(f"SELECT {column} FROM users"))).scalar_one()
            tokens = (await connection.execute(text(f"SELECT count(*) FROM {tokens_table}"))).scalar_one()
            return avatar, tokens
    finally:
        await engine.dispose()


async def test_upgrades_keep_avatars_and_sign_ins_both_ways(backend, create_database):
    settings = make_settings(await create_database(backend))
    await migrate(settings, "0001")
    user_id = uuid4()
    # The tables as revision 0001 made them; Uuid columns let SQLAlchemy store ids each database's way.
    users = table("users", *[column(name) for name in ("email", "hashed_password", "full_name", "avatar_url")])
    users.append_column(column("id", Uuid()))
    tokens = table("access_tokens", column("id", Uuid()), column("user_id", Uuid()), column("expires_at"))
    engine = create_async_engine(settings.sqlalchemy_url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                insert(users).values(
                    id=user_id, email="ann@example.com", hashed_password="x", full_name="Ann", avatar_url="a.png"
                )
            )
            await connection.execute(insert(tokens).values(id=uuid4(), user_id=user_id, expires_at=func.now()))
    finally:
        await engine.dispose()

    await migrate(settings)
    assert await _avatar_and_tokens(settings.sqlalchemy_url, "avatar_key", "sessions") == ("a.png", 1)
    await migrate(settings, "0001", downgrade=True)
    assert await _avatar_and_tokens(settings.sqlalchemy_url, "avatar_url", "access_tokens") == ("a.png", 1)


async def test_the_models_and_the_migrations_agree(settings):
    engine = create_async_engine(settings.sqlalchemy_url)

    def differences(connection: object) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # ty: ignore[invalid-argument-type]
        return compare_metadata(context, Base.metadata)

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()
