"""`lunchtogether migrate`, and the revision checks the other commands make before they run."""

import argparse
import asyncio
from pathlib import Path

from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from alembic import command
from lunchtogether.cli.failures import OperatorError, connection_failure
from lunchtogether.config import Settings
from lunchtogether.database import create_engine

# This file is lunchtogether/cli/migrations.py; alembic.ini is at the root of the project.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
BASE_REVISION = "base"


def alembic_config(settings: Settings, *, log: bool = True) -> Config:
    """`log=False`: alembic's own lines stay off, as `migrate` reports what it did itself."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.attributes["settings"] = settings
    config.attributes["configure_logger"] = log
    return config


def migrate(settings: Settings, args: argparse.Namespace) -> None:
    upgrade = args.direction == "upgrade"
    target = args.revision or ("head" if upgrade else "-1")
    print(migrate_and_report(settings, target, upgrade=upgrade, debug=args.debug))


def migrate_and_report(settings: Settings, target: str, *, upgrade: bool, debug: bool) -> str:
    """Migrates to `target` and says what changed, e.g. "Upgraded the database from 0001 to 0003."."""
    config = alembic_config(settings, log=debug)
    before = database_revision(settings)
    try:
        (command.upgrade if upgrade else command.downgrade)(config, target)
    except (CommandError, RevisionError) as exc:
        raise OperatorError(f"cannot migrate to {target}: {exc}: `uv run alembic history` lists the revisions") from exc
    after = database_revision(settings)
    if after != before:
        return f"{'Upgraded' if upgrade else 'Downgraded'} the database from {before} to {after}."
    if after == _head(config):
        return f"The database is already at head ({after})."
    return f"The database is already at {after}."


def require_head(settings: Settings) -> None:
    """An operator command on a database that is not migrated would fail with a missing table."""
    current, head = database_revision(settings), _head(alembic_config(settings, log=False))
    if current != head:
        raise OperatorError(f"the database is at {current}, not at {head}: run `lunchtogether migrate` first")


def database_revision(settings: Settings) -> str:
    """The revision the database is at ("base" when it has none), or a one-line failure to connect."""
    try:
        return asyncio.run(_read_revision(settings))
    except (OSError, SQLAlchemyError) as exc:  # TimeoutError is an OSError
        if (reason := connection_failure(exc, settings)) is None:
            raise
        raise OperatorError(reason) from exc


def _head(config: Config) -> str:
    return _revision_label(tuple(ScriptDirectory.from_config(config).get_heads()))


async def _read_revision(settings: Settings) -> str:
    engine = create_engine(settings)
    try:
        async with engine.connect() as connection:
            return _revision_label(await connection.run_sync(_current_heads))
    finally:
        await engine.dispose()


def _current_heads(connection: Connection) -> tuple[str, ...]:
    return tuple(MigrationContext.configure(connection).get_current_heads())


def _revision_label(heads: tuple[str, ...]) -> str:
    return ", ".join(heads) or BASE_REVISION
