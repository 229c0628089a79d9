"""Migrations go up and down on both databases and agree with the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
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
    assert await _tables(settings.sqlalchemy_url) >= {"users", "access_tokens", "alembic_version"}
    await migrate(settings, "base", downgrade=True)
    assert await _tables(settings.sqlalchemy_url) <= {"alembic_version"}
    await migrate(settings)
    assert await _tables(settings.sqlalchemy_url) >= {"users", "access_tokens"}


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
