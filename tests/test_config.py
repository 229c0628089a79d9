"""Settings: defaults for a quick start, and refusal of unsafe production configuration."""

import subprocess
import sys

import pytest

from lunchtogether.config import (
    DEVELOPMENT_DATABASE_URL,
    DEVELOPMENT_JWT_SECRET,
    Settings,
    SettingsError,
    load_settings,
)
from tests.support import PRODUCTION_EMAIL, python_environment

PRODUCTION = {"_env_file": None, "environment": "production", "database_url": "postgresql://db/app"} | PRODUCTION_EMAIL
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


def test_the_example_env_file_holds_only_the_development_defaults(project_root, monkeypatch):
    """`cp .env.example .env` must not change what `serve` does on a fresh clone."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)

    example = load_settings(_env_file=project_root / ".env.example")

    assert example.model_dump() == load_settings(_env_file=None).model_dump()
    assert example.sqlalchemy_url == DEVELOPMENT_DATABASE_URL
    assert example.jwt_secret == DEVELOPMENT_JWT_SECRET
    assert example.is_development


def test_the_example_env_file_sets_every_setting(project_root):
    """A setting missing from the example is one a newcomer never hears of."""
    lines = (project_root / ".env.example").read_text().splitlines()
    written = {line.lstrip("# ").partition("=")[0] for line in lines if "=" in line}

    assert {name.upper() for name in Settings.model_fields} <= written


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ('["http://localhost:3000"]', ["http://localhost:3000"]),
        ('[" https://a.example/ ", "http://b.example:8080"]', ["https://a.example", "http://b.example:8080"]),
        ("https://a.example,http://[::1]:3000", ["https://a.example", "http://[::1]:3000"]),
        ("", []),
    ],
)
def test_cors_origins_are_read_as_a_json_or_a_comma_separated_list(value, origins):
    assert load_settings(_env_file=None, cors_origins=value).allowed_origins == origins


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("*", "'*' is refused"),
        ("https://a.example,*", "'*' is refused"),
        ("localhost:3000", "'localhost:3000' is not an origin"),
        ("app.example.com", "'app.example.com' is not an origin"),
        ("https://a.example/app", "'https://a.example/app' is not an origin"),
        ("https://a.example?x=1", "is not an origin"),
        ("ftp://a.example", "'ftp://a.example' is not an origin"),
        ("http://a.example:99999", "'http://a.example:99999' is not an origin"),
        ('["http://a.example"', "is not a valid JSON list"),
    ],
)
def test_cors_origins_that_no_browser_sends_are_refused(value, reason):
    with pytest.raises(SettingsError, match=f"^CORS_ORIGINS: .*{reason}") as refused:
        load_settings(_env_file=None, cors_origins=value)

    assert "\n" not in str(refused.value)


def test_the_wildcard_origin_is_refused_in_production_too():
    with pytest.raises(SettingsError, match="CORS_ORIGINS: '\\*' is refused"):
        load_settings(**PRODUCTION, jwt_secret_key=GOOD_SECRET, cors_origins="*")


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"log_level": "debug"}, {"log_level": "DEBUG"}),
        ({"log_level": " Warning "}, {"log_level": "WARNING"}),
        (
            {"environment": "Production", "jwt_secret_key": GOOD_SECRET, "database_url": "postgresql://db/app"}
            | PRODUCTION_EMAIL
            | {"email_backend": "SMTP"},
            {"email_backend": "smtp"},
        ),
        ({"smtp_security": "STARTTLS"}, {"smtp_security": "starttls"}),
        ({"storage_backend": "LOCAL"}, {"storage_backend": "local"}),
        ({"jwt_algorithm": "hs512"}, {"jwt_algorithm": "HS512"}),
        ({"log_format": "JSON"}, {"log_format": "json"}),
    ],
)
def test_choices_are_read_in_any_case(overrides, expected):
    settings = load_settings(_env_file=None, **overrides)

    assert settings.model_dump(include=set(expected)) == expected


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"log_level": "verbose"}, "LOG_LEVEL: Input should be 'CRITICAL', 'ERROR', 'WARNING', 'INFO' or 'DEBUG'"),
        ({"environment": "staging"}, "ENVIRONMENT: Input should be 'development' or 'production', not 'staging'"),
        ({"storage_backend": "gcs"}, "STORAGE_BACKEND: Input should be 'local' or 's3', not 'gcs'"),
        ({"jwt_algorithm": "RS256"}, "JWT_ALGORITHM: Input should be 'HS256', 'HS384' or 'HS512', not 'RS256'"),
        ({"log_format": "xml"}, "LOG_FORMAT: Input should be 'json' or 'text', not 'xml'"),
        ({"bcrypt_rounds": "40"}, "BCRYPT_ROUNDS: Input should be less than or equal to 31, not '40'"),
        ({"database_pool_size": "0"}, "DATABASE_POOL_SIZE: Input should be greater than or equal to 1, not '0'"),
        ({"database_connect_timeout": "soon"}, "DATABASE_CONNECT_TIMEOUT: Input should be a valid number"),
        ({"graphql_batching": "maybe"}, "GRAPHQL_BATCHING: Input should be a valid boolean"),
        ({"database_url": "postgresql://db:70000/app"}, "DATABASE_URL: port 70000 is out of range: a port is 1..65535"),
        ({"redis_url": "redis://cache:0/0"}, "REDIS_URL: port 0 is out of range"),
        ({"redis_url": "http://cache:6379"}, "REDIS_URL: must start with redis://, rediss:// or redis\\+unix://"),
        ({"trusted_proxies": "10.0.0.0/8,proxy"}, "TRUSTED_PROXIES: 'proxy' does not appear to be an IPv4 or IPv6"),
    ],
)
def test_a_wrong_value_refuses_the_start_with_one_line_naming_it(overrides, message):
    with pytest.raises(SettingsError, match=f"^{message}") as refused:
        load_settings(_env_file=None, **overrides)

    assert "\n" not in str(refused.value)


def test_a_refused_url_never_shows_its_password():
    with pytest.raises(SettingsError) as refused:
        load_settings(_env_file=None, database_url="postgresql://app:hunter2@db:99999/app")

    assert "hunter2" not in str(refused.value)


async def test_origins_written_as_a_json_list_pass_the_preflight(make_app):
    """The JSON form once started without a word and then failed every preflight."""
    api = make_app(cors_origins='["http://localhost:3000"]')
    preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": "POST"}

    response = await api.client.options("/graphql", headers=preflight)

    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://localhost:3000"
