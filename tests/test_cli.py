"""The `lunchtogether` command, run as a process like an operator runs it."""

import argparse
import asyncio
import os
import pty
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from alembic import command
from lunchtogether.cli import PASSWORD_VARIABLE, _parser, alembic_config, delete_account, register_user
from lunchtogether.config import Settings, load_settings
from lunchtogether.graphql.schema import export_schema
from lunchtogether.workflows.user.register import RegisterInput
from tests.servers import free_port
from tests.support import PASSWORD, python_environment, require_postgresql


def run(*args: str, cwd: Path, **environment: str) -> subprocess.CompletedProcess:
    env = python_environment(**({"LOG_LEVEL": "WARNING", "BCRYPT_ROUNDS": "4"} | environment))
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
    again = run("migrate", cwd=tmp_path, DATABASE_URL=database)
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
    assert migrated.stdout.startswith("Upgraded the database from base to ")
    assert again.stdout.startswith("The database is already at head (")
    assert created.returncode == 0, created.stderr
    assert "admin@example.com" in created.stdout
    assert "superuser" in created.stdout
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert weak.returncode == 1
    assert "password" in weak.stderr
    assert downgraded.returncode == 0, downgraded.stderr
    assert downgraded.stdout.startswith("Downgraded the database from ")
    assert downgraded.stdout.endswith(" to base.\n")


# --- one line for every failure a newcomer can cause ---------------------------------------------------------------

POSTGRESQL = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
SECRET = "hunter2-secret"  # a password in DATABASE_URL that no message may show
FAST = {"DATABASE_CONNECT_TIMEOUT": "0.5"}


def postgresql_url(database: str, username: str | None = None) -> str:
    url = POSTGRESQL.set(drivername="postgresql", username=username or POSTGRESQL.username, password=SECRET)
    url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def one_line(finished: subprocess.CompletedProcess) -> str:
    """The failure's only line on stderr, asserting that it is one and that the exit says so."""
    assert finished.returncode != 0, finished.stdout
    lines = finished.stderr.splitlines()
    assert len(lines) == 1, finished.stderr
    assert lines[0].startswith("lunchtogether: ")
    assert SECRET not in lines[0]
    return lines[0]


@pytest.fixture
def postgresql_server() -> None:
    require_postgresql()


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word, as a firewalled or hung server."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            lambda _port: postgresql_url(database="lunchtogether_does_not_exist"),
            "database lunchtogether_does_not_exist does not exist at .*: createdb lunchtogether_does_not_exist$",
        ),
        (
            lambda _port: postgresql_url(username="nobody_here", database="postgres"),
            'refused: role "nobody_here" does not exist: createuser nobody_here, or fix DATABASE_URL$',
        ),
    ],
    ids=["no-such-database", "unknown-role"],
)
def test_migrate_says_what_postgresql_refused_in_one_line(tmp_path, postgresql_server, url, expected):
    failure = one_line(run("migrate", cwd=tmp_path, DATABASE_URL=url(0), **FAST))

    assert re.search(expected, failure), failure


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            lambda _port: f"postgresql://app:{SECRET}@127.0.0.1:1/app",
            "nothing accepts connections at 127.0.0.1:1: start PostgreSQL, or fix DATABASE_URL$",
        ),
        (
            lambda _port: f"postgresql://app:{SECRET}@nohost.invalid/app",
            "cannot find the database host nohost.invalid: fix the host in DATABASE_URL$",
        ),
        (
            lambda port: f"postgresql://app:{SECRET}@127.0.0.1:{port}/app",
            "did not answer within 0.5 s: .* or raise DATABASE_CONNECT_TIMEOUT$",
        ),
    ],
    ids=["refused", "unknown-host", "silent"],
)
def test_migrate_says_why_the_database_cannot_be_reached_in_one_line(tmp_path, silent_server, url, expected):
    failure = one_line(run("migrate", cwd=tmp_path, DATABASE_URL=url(silent_server), **FAST))

    assert re.search(expected, failure), failure


@pytest.mark.parametrize(
    "command",
    [
        ["serve", "--port", "PORT"],  # in development it migrates first
        ["create-user", "ann@example.com", "--full-name", "Ann"],
        ["delete-user", "ann@example.com", "--yes"],
    ],
    ids=["serve", "create-user", "delete-user"],
)
def test_every_command_that_needs_the_database_says_so_in_one_line(tmp_path, command):
    if command[0] == "serve":
        command[2] = str(free_port())
    finished = run(
        *command, cwd=tmp_path, DATABASE_URL="postgresql://app@127.0.0.1:1/app", LUNCHTOGETHER_PASSWORD=PASSWORD
    )

    assert "nothing accepts connections at 127.0.0.1:1" in one_line(finished)


def test_an_unknown_revision_is_one_line(tmp_path):
    finished = run("migrate", "upgrade", "nope", cwd=tmp_path)

    assert one_line(finished) == (
        "lunchtogether: cannot migrate to nope: Can't locate revision identified by 'nope': "
        "`uv run alembic history` lists the revisions"
    )


def test_a_port_in_use_is_one_line(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        finished = run("serve", "--port", str(port), cwd=tmp_path)

    assert one_line(finished) == (
        f"lunchtogether: port {port} on 127.0.0.1 is in use: stop what listens there, or pass another --port"
    )


def test_a_port_out_of_range_is_one_line(tmp_path):
    finished = run("serve", "--port", "70000", cwd=tmp_path)

    assert finished.returncode == 2
    assert "argument --port: 70000 is out of range: a port is 1..65535" in one_line(finished)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("LOG_LEVEL", "loud", "LOG_LEVEL: Input should be 'CRITICAL', 'ERROR', 'WARNING', 'INFO' or 'DEBUG'"),
        ("CORS_ORIGINS", "*", "CORS_ORIGINS: '*' is refused"),
        ("CORS_ORIGINS", "http://localhost:3000/app", "CORS_ORIGINS: 'http://localhost:3000/app' is not an origin"),
        ("TRUSTED_DOCUMENTS_ONLY", "true", "TRUSTED_DOCUMENTS_ONLY needs TRUSTED_DOCUMENTS"),
    ],
)
def test_a_wrong_setting_refuses_the_start_in_one_line(tmp_path, variable, value, expected):
    finished = run("serve", "--port", str(free_port()), cwd=tmp_path, **{variable: value})

    assert one_line(finished).startswith(f"lunchtogether: refusing to start: {expected}")


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (None, "cannot be read: No such file or directory"),
        ('{"me": "query { me { nope } }"}', "the document 'me' is invalid: Cannot query field 'nope' on type 'User'."),
    ],
)
def test_an_unusable_trusted_documents_manifest_refuses_the_start_in_one_line(tmp_path, manifest, expected):
    path = tmp_path / "persisted-documents.json"
    if manifest is not None:
        path.write_text(manifest)
    finished = run("serve", "--port", str(free_port()), cwd=tmp_path, TRUSTED_DOCUMENTS=str(path))

    assert finished.returncode == 1
    assert one_line(finished) == f"lunchtogether: refusing to start: TRUSTED_DOCUMENTS {path}: {expected}"


@pytest.mark.parametrize(("flag", "environment"), [(["--debug"], {}), ([], {"LOG_LEVEL": "DEBUG"})])
def test_debug_shows_the_whole_traceback(tmp_path, flag, environment):
    finished = run(*flag, "migrate", "upgrade", "nope", cwd=tmp_path, **environment)

    assert finished.returncode == 1
    assert "Traceback (most recent call last)" in finished.stderr
    assert "Can't locate revision identified by 'nope'" in finished.stderr


# --- the command line explains itself ------------------------------------------------------------------------------


def test_the_help_lists_every_command_and_every_option_has_its_default():
    parser = _parser()
    [commands] = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    top_help = parser.format_help()

    for name, subcommand in commands.choices.items():
        assert name in top_help
        for action in subcommand._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, (name, action.dest)
            optional = action.option_strings or action.nargs == "?"
            if optional and not action.required:
                assert "(default: " in action.help, (name, action.dest)


class Terminal:
    """The command on a terminal of its own (no other controlling one), answered prompt by prompt."""

    def __init__(self, *args: str, cwd: Path, **environment: str) -> None:
        self.output = b""
        self._master, terminal = pty.openpty()
        env = python_environment(LOG_LEVEL="WARNING", BCRYPT_ROUNDS="4", **environment)
        env.pop(PASSWORD_VARIABLE, None)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "lunchtogether", *args],
            stdin=terminal,
            stdout=terminal,
            stderr=terminal,
            cwd=cwd,
            env=env,
            start_new_session=True,
        )
        os.close(terminal)

    def answer(self, prompt: str, text: str) -> None:
        deadline = time.monotonic() + 60
        while prompt.encode() not in self.output:
            assert time.monotonic() < deadline, self.output
            if not self._read():
                raise AssertionError(f"no prompt {prompt!r}: {self.output!r}")
        self.output = b""
        os.write(self._master, f"{text}\n".encode())

    def finish(self) -> tuple[int, str]:
        """The exit status, and what was written after the last answer (the echo of it included)."""
        while self._read():
            pass
        os.close(self._master)
        return self._process.wait(timeout=60), self.output.decode().replace("\r\n", "\n")

    def _read(self) -> bool:
        ready, _, _ = select.select([self._master], [], [], 60)
        try:
            chunk = os.read(self._master, 4096) if ready else b""
        except OSError:  # the command has exited and closed the terminal
            chunk = b""
        self.output += chunk
        return bool(chunk)


@pytest.fixture
def migrated(tmp_path) -> Settings:
    """A migrated SQLite database of the test's own, made in this process (a command takes seconds)."""
    settings = load_settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", bcrypt_rounds=4)
    command.upgrade(alembic_config(settings, log=False), "head")
    return settings


def test_create_user_asks_for_the_password_twice(tmp_path, migrated):
    database = migrated.sqlalchemy_url
    mistyped = Terminal("create-user", "ann@example.com", "--full-name", "Ann", cwd=tmp_path, DATABASE_URL=database)
    mistyped.answer("Password: ", PASSWORD)
    mistyped.answer("Repeat the password: ", PASSWORD + "!")
    status, output = mistyped.finish()
    assert status == 1
    assert output.strip().endswith("lunchtogether: the two passwords differ: run create-user again")

    typed = Terminal("create-user", "ann@example.com", "--full-name", "Ann", cwd=tmp_path, DATABASE_URL=database)
    typed.answer("Password: ", PASSWORD)
    typed.answer("Repeat the password: ", PASSWORD)
    status, output = typed.finish()
    assert status == 0, output
    assert "Created ann@example.com" in output


def test_delete_user_asks_first_unless_told_yes(tmp_path, migrated):
    asyncio.run(register_user(migrated, RegisterInput(email="ann@example.com", password=PASSWORD, full_name="Ann")))
    database = migrated.sqlalchemy_url

    unattended = run("delete-user", "ann@example.com", cwd=tmp_path, DATABASE_URL=database)
    assert one_line(unattended).endswith("there is no terminal to ask on: pass --yes")

    declined = Terminal("delete-user", "ann@example.com", cwd=tmp_path, DATABASE_URL=database)
    declined.answer("Delete ann@example.com, their sessions and files? [y/N] ", "n")
    status, output = declined.finish()
    assert status == 1
    assert "nothing was deleted" in output

    confirmed = Terminal("delete-user", "ann@example.com", cwd=tmp_path, DATABASE_URL=database)
    confirmed.answer("Delete ann@example.com, their sessions and files? [y/N] ", "y")
    status, output = confirmed.finish()
    assert status == 0, output
    assert "Deleted ann@example.com" in output

    assert not asyncio.run(delete_account(migrated, "ann@example.com")), "the account is still there"


def test_operator_commands_refuse_a_database_that_is_not_migrated(tmp_path):
    finished = run("delete-user", "ann@example.com", "--yes", cwd=tmp_path)

    assert re.fullmatch(
        r"lunchtogether: the database is at base, not at \w+: run `lunchtogether migrate` first", one_line(finished)
    )


# --- the quick start -----------------------------------------------------------------------------------------------


def test_the_quick_start_serves_with_the_example_env_file(tmp_path, project_root):
    """`cp .env.example .env && uv run lunchtogether serve` on a fresh clone."""
    shutil.copy(project_root / ".env.example", tmp_path / ".env")
    environment = python_environment()
    for name in Settings.model_fields:
        environment.pop(name.upper(), None)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "lunchtogether", "serve", "--port", str(port)],
        env=environment,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        health = wait_for_health(f"http://127.0.0.1:{port}", server)
        preflight = httpx.options(
            f"http://127.0.0.1:{port}/graphql",
            headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"},
        )
    finally:
        server.send_signal(signal.SIGTERM)
        stdout, stderr = server.communicate(timeout=60)

    assert health.json() == {"status": "ok"}
    assert preflight.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert server.returncode == 0, stderr
    assert stdout.startswith("Upgraded the database from base to ")
    assert (tmp_path / "lunchtogether.db").exists()


def wait_for_health(base_url: str, server: subprocess.Popen) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()
        try:
            return httpx.get(f"{base_url}/health")
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not answer /health within 60 s")
