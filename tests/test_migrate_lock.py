"""`lunchtogether migrate` run twice at once, as two containers of a new release would."""

import asyncio
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lunchtogether.cli import alembic_config
from tests.support import TEST_SECRET, make_settings, python_environment

MIGRATE_SECONDS = 30
MIGRATION_LOCK_KEY = 7_361_245_190  # alembic/env.py's


async def _migrate(database_url: str, cwd: Path) -> tuple[int, str]:
    """Runs `lunchtogether migrate` as an operator does; its exit status and stderr."""
    environment = python_environment(DATABASE_URL=database_url, JWT_SECRET_KEY=TEST_SECRET, LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "lunchtogether", "migrate", cwd=cwd, env=environment, stderr=asyncio.subprocess.PIPE
    )
    _stdout, stderr = await process.communicate()
    return await process.wait(), stderr.decode()


async def _queued_on_the_lock(engine: AsyncEngine, count: int) -> None:
    """Returns once `count` sessions wait for an advisory lock on this database."""
    query = text(
        "SELECT count(*) FROM pg_locks JOIN pg_database ON pg_database.oid = pg_locks.database "
        "WHERE locktype = 'advisory' AND NOT granted AND datname = current_database()"
    )
    async with engine.connect() as connection:
        while True:
            if (await connection.execute(query)).scalar_one() >= count:
                return
            await asyncio.sleep(0.05)


async def _schema(database_url: str) -> tuple[list[str], set[str]]:
    """The versions alembic recorded, and the tables."""
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalars().all()
            tables = await connection.run_sync(lambda sync: set(inspect(sync).get_table_names()))
        return list(versions), tables
    finally:
        await engine.dispose()


async def test_two_migrations_at_once_take_turns(create_database, tmp_path):
    """The advisory lock is PostgreSQL's; SQLite has one writer at a time anyway."""
    database_url = await create_database("postgresql")
    head = ScriptDirectory.from_config(alembic_config(make_settings(database_url))).get_current_head()
    engine = create_async_engine(database_url)

    try:
        async with asyncio.timeout(MIGRATE_SECONDS):
            # Held here until both runs wait for it, then let go: they start migrating at the same instant.
            async with engine.connect() as holder:
                await holder.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
                runs = [asyncio.create_task(_migrate(database_url, tmp_path)) for _ in range(2)]
                await _queued_on_the_lock(engine, 2)
                await holder.commit()
            results = await asyncio.gather(*runs)
    finally:
        await engine.dispose()

    for returncode, stderr in results:
        assert returncode == 0, stderr
    versions, tables = await _schema(database_url)
    assert versions == [head]
    assert {"users", "sessions"} <= tables
