"""Settings: defaults for a quick start, and refusal of unsafe production configuration."""

import subprocess
import sys

import pytest

from lunchtogether.config import DEVELOPMENT_DATABASE_URL, DEVELOPMENT_JWT_SECRET, SettingsError, load_settings
from tests.support import python_environment

PRODUCTION = {"_env_file": None, "environment": "production", "database_url": "postgresql://db/app"}
GOOD_SECRET = "s" * 32


def test_development_needs_nothing_and_uses_sqlite():
    settings = load_settings(_env_file=None, environment="development", database_url=None, jwt_secret_key=None)

    assert settings.sqlalchemy_url == DEVELOPMENT_DATABASE_URL
    assert settings.jwt_secret == DEVELOPMENT_JWT_SECRET
    assert "http://localhost:5173" in settings.allowed_origins


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@host:5432/db", "postgresql+asyncpg://u:p@host:5432/db"),
        ("postgresql://u@host/db", "postgresql+asyncpg://u@host/db"),
        ("postgresql+asyncpg://u@host/db", "postgresql+asyncpg://u@host/db"),
        ("sqlite+aiosqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    ],
)
def test_database_urls_are_rewritten_to_the_async_drivers(url, expected):
    assert load_settings(_env_file=None, database_url=url).sqlalchemy_url == expected


def test_other_database_urls_are_refused():
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        load_settings(_env_file=None, database_url="mysql://host/db")


def test_cors_origins_are_read_comma_separated():
    settings = load_settings(_env_file=None, cors_origins="https://a.example, https://b.example/")

    assert settings.allowed_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"jwt_secret_key": None}, "JWT_SECRET_KEY must be set in production"),
        ({"jwt_secret_key": DEVELOPMENT_JWT_SECRET}, "development default"),
        ({"jwt_secret_key": "short-secret"}, "at least 32 bytes"),
        ({"jwt_secret_key": GOOD_SECRET, "database_url": None}, "DATABASE_URL must be set in production"),
    ],
)
def test_production_refuses_unsafe_settings_with_one_line(overrides, reason):
    with pytest.raises(SettingsError, match=reason) as refused:
        load_settings(**(PRODUCTION | overrides))

    assert "\n" not in str(refused.value)


def test_production_accepts_a_real_secret_and_database():
    settings = load_settings(**PRODUCTION, jwt_secret_key=GOOD_SECRET)

    assert not settings.is_development
    assert settings.allowed_origins == []


def test_the_server_refuses_to_start_in_production_without_a_secret(tmp_path):
    environment = python_environment(ENVIRONMENT="production", DATABASE_URL="postgresql://db/app")
    environment.pop("JWT_SECRET_KEY", None)

    finished = subprocess.run(
        [sys.executable, "-m", "lunchtogether", "serve"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert finished.returncode == 1
    assert finished.stderr.strip() == "lunchtogether: refusing to start: JWT_SECRET_KEY must be set in production"


def test_the_example_env_file_is_a_working_configuration(project_root):
    settings = load_settings(_env_file=project_root / ".env.example")

    assert settings.redis_url is None
    assert settings.sentry_dsn is None
    assert settings.jwt_secret == DEVELOPMENT_JWT_SECRET
    assert settings.rate_limit_login_per_email == "5/minute"
