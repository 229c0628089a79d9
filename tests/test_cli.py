"""The `lunchtogether` command, run as a process like an operator runs it."""

import subprocess
import sys
from pathlib import Path

from lunchtogether.graphql.schema import export_schema
from tests.support import PASSWORD, python_environment


def run(*args: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    env = python_environment(LOG_LEVEL="WARNING", BCRYPT_ROUNDS="4", **environment)
    return subprocess.run(
        [sys.executable, "-m", "lunchtogether", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_export_schema_writes_the_live_schema(tmp_path):
    finished = run("export-schema", str(tmp_path / "out.graphql"), cwd=tmp_path)

    assert finished.returncode == 0, finished.stderr
    assert (tmp_path / "out.graphql").read_text() == export_schema()


def test_migrate_then_create_user_reads_the_password_from_the_environment(tmp_path):
    database = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"

    migrated = run("migrate", cwd=tmp_path, DATABASE_URL=database)
    created = run(
        "create-user",
        "Admin@Example.com",
        "--full-name",
        "Admin",
        "--superuser",
        cwd=tmp_path,
        DATABASE_URL=database,
        LUNCHTOGETHER_PASSWORD=PASSWORD,
    )
    duplicate = run(
        "create-user",
        "admin@example.com",
        "--full-name",
        "Admin",
        cwd=tmp_path,
        DATABASE_URL=database,
        LUNCHTOGETHER_PASSWORD=PASSWORD,
    )
    weak = run(
        "create-user",
        "other@example.com",
        "--full-name",
        "Other",
        cwd=tmp_path,
        DATABASE_URL=database,
        LUNCHTOGETHER_PASSWORD="short",
    )
    downgraded = run("migrate", "downgrade", "base", cwd=tmp_path, DATABASE_URL=database)

    assert migrated.returncode == 0, migrated.stderr
    assert created.returncode == 0, created.stderr
    assert "admin@example.com" in created.stdout
    assert "superuser" in created.stdout
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert weak.returncode == 1
    assert "password" in weak.stderr
    assert downgraded.returncode == 0, downgraded.stderr
