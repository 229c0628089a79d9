"""Settings, read once from the environment and `.env`; the only place configuration enters."""

import json
from enum import StrEnum
from functools import lru_cache
from ipaddress import ip_network
from typing import Annotated, Literal
from urllib.parse import urlsplit

from limits import parse as parse_rate
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Known to everybody who reads this file, so it is refused outside development.
DEVELOPMENT_JWT_SECRET = "development-only-secret-do-not-use-in-production"
DEVELOPMENT_DATABASE_URL = "sqlite+aiosqlite:///./lunchtogether.db"
DEVELOPMENT_CORS_ORIGINS = ("http://localhost:5173", "http://localhost:3000")
DEVELOPMENT_EMAIL_FROM = "LunchTogether <no-reply@localhost>"
MIN_SECRET_BYTES = 32

_ASYNCPG_URL = "postgresql+asyncpg://"
_URL_REWRITES = {"postgres://": _ASYNCPG_URL, "postgresql://": _ASYNCPG_URL}
_ORIGIN_SCHEMES = ("http", "https")
_REDIS_SCHEMES = ("redis", "rediss", "redis+unix")
# pydantic's own checks (a choice, a number, a bound) do not name the value they refused; ours do.
_CHECKS_THAT_NAME_THE_VALUE = frozenset({"value_error", "assertion_error"})

LogLevel = Literal["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"]
EmailBackend = Literal["console", "smtp"]


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class SettingsError(Exception):
    """The configuration is unusable; the message is one line fit for an operator."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    environment: Environment = Environment.DEVELOPMENT
    database_url: str | None = None
    database_pgbouncer: bool = False
    database_pool_size: int = Field(default=30, ge=1)  # kept open: a busy process has as many requests waiting on it
    database_max_overflow: int = Field(default=10, ge=0)
    # Every wait on the database is bounded, so that an outage costs a request seconds, not a hang.
    database_connect_timeout: float = Field(default=5.0, gt=0)  # seconds to open a connection (TCP and startup)
    database_statement_timeout: float = Field(default=15.0, ge=0)  # seconds for one statement; 0: unbounded
    database_pool_timeout: float = Field(default=10.0, gt=0)  # seconds to wait for a free pooled connection
    # A round trip per checkout; off, since connections the server closed are noticed without one.
    database_pool_pre_ping: bool = False
    database_pool_recycle: int = Field(default=1800, ge=0)  # seconds before a connection is replaced; 0: never
    # Seconds from which a statement is logged at WARNING (SQL and duration, never parameter values); 0: every one.
    database_slow_query_seconds: float = Field(default=0.5, ge=0)
    # Seconds that requests in flight get to finish after SIGTERM.
    shutdown_grace_seconds: int = Field(default=20, ge=0)
    jwt_secret_key: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = "HS256"  # the secret is shared: HMAC only
    jwt_access_token_expire_minutes: int = Field(default=60, ge=1)  # a token's lifetime: a session's idle limit
    session_max_age_days: float = Field(default=30, gt=0)  # no session outlives its login by more, however used
    bcrypt_rounds: int = Field(default=12, ge=4, le=31)
    upload_dir: str = "uploads"
    max_upload_size: int = Field(default=10 * 1024 * 1024, ge=1)
    max_upload_files: int = Field(default=1, ge=1)
    public_base_url: str | None = None
    # Where uploads are stored: UPLOAD_DIR on this server, or an S3-compatible bucket.
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str | None = None
    s3_endpoint_url: str | None = None  # unset for AWS itself; set for MinIO, R2...
    s3_region: str = "us-east-1"
    s3_access_key_id: SecretStr | None = None  # both unset: botocore looks (environment, instance role)
    s3_secret_access_key: SecretStr | None = None
    s3_public_url: str | None = None  # where clients fetch objects; default: the endpoint's bucket URL
    sentry_dsn: str | None = None

    # Email (README: "Accounts"). Unset backend: console in development; production must choose smtp.
    email_backend: EmailBackend | None = None
    email_from: str | None = None  # unset in development: DEVELOPMENT_EMAIL_FROM; required in production
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_timeout: float = Field(default=10.0, gt=0)  # seconds for each exchange with the mail server
    frontend_url: str = "http://localhost:5173"  # the base of every link in a message
    email_verification_ttl_hours: float = Field(default=48, gt=0)
    password_reset_ttl_minutes: float = Field(default=60, gt=0)
    cors_origins: Annotated[list[str] | None, NoDecode] = None
    log_level: LogLevel = "INFO"
    # Unset: JSON lines in production (for a log collector), readable lines in development.
    log_format: Literal["json", "text"] | None = None

    # Abuse limits: see the README's "Security" section.
    redis_url: str | None = None
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    rate_limit_login_per_email: str = "5/minute"
    rate_limit_login_per_ip: str = "20/minute"
    rate_limit_register: str = "10/hour"
    rate_limit_change_password: str = "5/minute"
    rate_limit_email_verification: str = "5/hour"  # per user
    rate_limit_password_reset: str = "5/hour"  # per address, and separately per client address
    max_request_body_size: int = Field(default=1024 * 1024, ge=1024)
    max_request_header_size: int = Field(default=32 * 1024, ge=1024)
    graphql_max_query_length: int = Field(default=100_000, ge=100)
    graphql_max_depth: int = Field(default=10, ge=1)
    graphql_max_aliases: int = Field(default=15, ge=0)
    graphql_max_tokens: int = Field(default=2000, ge=10)
    graphql_max_directives: int = Field(default=10, ge=0)
    graphql_max_repeated_fields: int = Field(default=3, ge=1)
    graphql_batching: bool = False
    graphql_max_batch_size: int = Field(default=10, ge=1)

    # Persisted documents (README: "Persisted documents").
    trusted_documents: str | None = None  # a manifest file: graphql-codegen's client preset's, or Apollo's
    trusted_documents_only: bool = False  # refuse every document that is not in TRUSTED_DOCUMENTS
    # Automatic persisted queries: kept in Redis with REDIS_URL (for this long), else in the process (this many).
    apq_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=1)
    apq_max_entries: int = Field(default=1000, ge=1)
    apq_max_bytes: int = Field(default=16 * 1024 * 1024, ge=1024)

    # Shortcuts around a library, each measured (docs/internals.md, docs/performance.md) and each switchable, so that
    # a suspected bug in one can be ruled out in production by turning it off.
    # The execution plan (graphql/plan.py) and operations without Strawberry's wrapper (graphql/direct_execution.py);
    # off: Strawberry runs every operation and graphql-core executes it.
    graphql_fast_execution: bool = True
    database_native_reads: bool = True  # reads built once sent straight to asyncpg on PostgreSQL
    # JSON access lines written straight to the log handler while logging is as `configure_logging` left it
    # (core/observability.py); off: every access line is a LogRecord through the logging module.
    log_access_direct: bool = True

    @field_validator(
        "redis_url",
        "sentry_dsn",
        "public_base_url",
        "jwt_secret_key",
        "s3_bucket",
        "s3_endpoint_url",
        "s3_access_key_id",
        "s3_secret_access_key",
        "s3_public_url",
        "email_backend",
        "email_from",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "trusted_documents",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """`NAME=` in an env file means "not set", as in `.env.example`."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("log_format", "environment", "storage_backend", "email_backend", "smtp_security", mode="before")
    @classmethod
    def _lower_case_choice(cls, value: object) -> object:
        """`LOG_FORMAT=` means the environment's default; `JSON` is as good as `json`."""
        return (value.strip().lower() or None) if isinstance(value, str) else value

    @field_validator("log_level", "jwt_algorithm", mode="before")
    @classmethod
    def _upper_case_choice(cls, value: object) -> object:
        """`debug` is as good as `DEBUG`, as `logging` itself has it."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        """Accept a comma-separated list, or a JSON list, the two forms an env file is written in."""
        if isinstance(value, str) and value.lstrip().startswith("["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"is not a valid JSON list ({exc.msg}); write a comma-separated list") from None
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            return [item.strip().rstrip("/") for item in value if isinstance(item, str) and item.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str] | None) -> list[str] | None:
        """Browsers send an origin as `scheme://host[:port]`; anything else would never match one."""
        for origin in value or ():
            if origin == "*":
                raise ValueError(
                    "'*' is refused: with credentials it lets every site call the API as the signed-in user; "
                    "list the origins, e.g. https://app.example.com"
                )
            if not _is_origin(origin):
                raise ValueError(f"{origin!r} is not an origin: write scheme://host[:port], e.g. http://localhost:3000")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            ip_network(network, strict=False)  # raises ValueError with the culprit named
        return value

    @field_validator(
        "rate_limit_login_per_email",
        "rate_limit_login_per_ip",
        "rate_limit_register",
        "rate_limit_change_password",
        "rate_limit_email_verification",
        "rate_limit_password_reset",
    )
    @classmethod
    def _rate(cls, value: str) -> str:
        try:
            parse_rate(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as '5/minute' or '100 per hour'") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _use_asyncpg(cls, value: str | None) -> str | None:
        """Hosting providers hand out `postgres://` URLs; SQLAlchemy needs the driver named."""
        if value is None or not value.strip():
            return None
        for prefix, replacement in _URL_REWRITES.items():
            if value.startswith(prefix):
                value = replacement + value.removeprefix(prefix)
        if not value.startswith((_ASYNCPG_URL, "sqlite+aiosqlite://")):
            raise ValueError("DATABASE_URL must be postgresql+asyncpg:// (or postgres://) or sqlite+aiosqlite://")
        try:
            port = make_url(value).port
        except (ArgumentError, ValueError):
            # The URL itself is not repeated: it may hold a password.
            raise ValueError("is not a URL such as postgresql://user@host:5432/name") from None
        _check_port(port)
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            parts = urlsplit(value)
            port = parts.port
        except ValueError:
            raise ValueError("is not a URL such as redis://host:6379/0") from None
        if parts.scheme not in _REDIS_SCHEMES:
            raise ValueError("must start with redis://, rediss:// or redis+unix://")
        _check_port(port)
        return value

    @field_validator("frontend_url")
    @classmethod
    def _frontend_url(cls, value: str) -> str:
        """Links are `{FRONTEND_URL}/verify-email?token=...`: the base must be an absolute http(s) URL."""
        value = value.strip().rstrip("/")
        parts = urlsplit(value)
        if parts.scheme not in _ORIGIN_SCHEMES or not parts.hostname or parts.query or parts.fragment:
            raise ValueError(f"{value!r} is not a URL such as https://app.example.com")
        return value

    @model_validator(mode="after")
    def _require_smtp_host(self) -> "Settings":
        if self.email_backend == "smtp" and self.smtp_host is None:
            raise ValueError("SMTP_HOST must be set when EMAIL_BACKEND is smtp")
        return self

    @model_validator(mode="after")
    def _require_s3_bucket(self) -> "Settings":
        if self.storage_backend == "s3" and self.s3_bucket is None:
            raise ValueError("S3_BUCKET must be set when STORAGE_BACKEND is s3")
        return self

    @model_validator(mode="after")
    def _require_trusted_documents(self) -> "Settings":
        if self.trusted_documents_only and self.trusted_documents is None:
            raise ValueError("TRUSTED_DOCUMENTS_ONLY needs TRUSTED_DOCUMENTS, the manifest of the documents to allow")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> "Settings":
        if self.is_development:
            return self
        secret = self.jwt_secret_key.get_secret_value() if self.jwt_secret_key else ""
        if not secret:
            raise ValueError("JWT_SECRET_KEY must be set in production")
        if secret == DEVELOPMENT_JWT_SECRET:
            raise ValueError("JWT_SECRET_KEY is the development default; set a secret of your own in production")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"JWT_SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes in production")
        if self.database_url is None:
            raise ValueError("DATABASE_URL must be set in production")
        if self.email_backend != "smtp":
            raise ValueError(
                "EMAIL_BACKEND must be smtp in production: the console backend would write live links to the log"
            )
        if self.email_from is None:
            raise ValueError("EMAIL_FROM must be set in production, e.g. LunchTogether <no-reply@example.com>")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or DEVELOPMENT_DATABASE_URL

    @property
    def email_backend_in_use(self) -> EmailBackend:
        """The console in development unless chosen; production has refused to start without smtp."""
        return self.email_backend or "console"

    @property
    def email_sender(self) -> str:
        return self.email_from or DEVELOPMENT_EMAIL_FROM

    @property
    def jwt_secret(self) -> str:
        return self.jwt_secret_key.get_secret_value() if self.jwt_secret_key else DEVELOPMENT_JWT_SECRET

    @property
    def allowed_origins(self) -> list[str]:
        if self.cors_origins is not None:
            return self.cors_origins
        return list(DEVELOPMENT_CORS_ORIGINS) if self.is_development else []


def _is_origin(origin: str) -> bool:
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises ValueError when the port is not one
    except ValueError:
        return False
    has_only_scheme_and_host = not (parts.path or parts.query or parts.fragment or parts.username or parts.password)
    return parts.scheme in _ORIGIN_SCHEMES and bool(parts.hostname) and has_only_scheme_and_host


def _check_port(port: int | None) -> None:
    if port is not None and not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range: a port is 1..65535")


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into the one line an operator needs."""
    try:
        return Settings(**overrides)  # ty: ignore[invalid-argument-type]
    except ValidationError as exc:
        raise SettingsError(_one_line(exc.errors()[0])) from None


def _one_line(error: ErrorDetails) -> str:
    """`LOG_LEVEL: Input should be 'CRITICAL', ... or 'DEBUG', not 'verbose'`.

    pydantic's own checks only apply to settings that hold no secret (secrets and URLs are
    checked by validators here, whose messages never repeat the value), so their input is shown.
    """
    where = ".".join(str(part) for part in error["loc"]).upper()
    reason = error["msg"].removeprefix("Value error, ")
    if error["type"] not in _CHECKS_THAT_NAME_THE_VALUE and isinstance(error.get("input"), str | int | float):
        reason = f"{reason}, not {error['input']!r}"
    return f"{where}: {reason}" if where else reason


@lru_cache
def get_settings() -> Settings:
    return load_settings()
