"""Runs migrations over the app's own async engine, with the URL from `config.py`."""

import asyncio
from logging.config import fileConfig

from sqlalchemy import text
from sqlalchemy.engine import Connection

from alembic import context
from lunchtogether.config import Settings, get_settings
from lunchtogether.database import create_engine
from lunchtogether.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata
# Any fixed number, the same in every release: the advisory lock `migrate` runs under.
MIGRATION_LOCK_KEY = 7_361_245_190


def _settings() -> Settings:
    # `lunchtogether migrate` and the tests pass their settings; the alembic CLI reads the environment.
    return config.attributes.get("settings") or get_settings()


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        _wait_for_other_migrations(connection)
        context.run_migrations()


def _wait_for_other_migrations(connection: Connection) -> None:
    """Two `migrate` runs at once (every new release's containers, say) take turns, not collide.

    The lock is transaction-scoped: PostgreSQL releases it with the commit that publishes the
    new schema, so the next run reads the version that commit wrote and has nothing left to do,
    and a run that fails or dies cannot leave it held. SQLite has one writer at a time anyway.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


async def _run_online() -> None:
    # A migration may wait for the lock, or for a table, and rewrite big tables: no statement timeout.
    engine = create_engine(_settings(), bounded_statements=False)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_configure)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_settings().sqlalchemy_url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
