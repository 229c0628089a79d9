"""The Starlette app: `/graphql`, health checks, CORS, request ids, Sentry."""

import asyncio
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import sentry_sdk
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from lunchtogether.config import Settings, get_settings
from lunchtogether.core.media import MediaFiles
from lunchtogether.core.middleware import (
    REQUEST_ID_HEADER,
    HeaderSizeLimitMiddleware,
    RequestContextMiddleware,
    SecurityHeadersMiddleware,
)
from lunchtogether.database import Database, create_engine, ping
from lunchtogether.dependencies import Services
from lunchtogether.graphql.schema import build_schema
from lunchtogether.graphql.view import PREFLIGHT_HEADERS, GraphQLEndpoint, HTTPPolicy

READINESS_TIMEOUT_SECONDS = 2.0

logger = logging.getLogger("lunchtogether")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    _configure_logging(settings)
    _init_sentry(settings)
    engine = create_engine(settings)
    services = Services.from_settings(settings)
    graphql = GraphQLEndpoint(
        schema=build_schema(settings),
        services=services,
        database=Database(engine),
        policy=HTTPPolicy.from_settings(settings),
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncGenerator[None]:
        yield
        await services.storage.close()
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql.handle, methods=["GET", "POST"]),
            Route("/health", health, methods=["GET"]),
            Route("/health/ready", _readiness(engine), methods=["GET"]),
            *_media_routes(settings),
        ],
        middleware=[
            Middleware(RequestContextMiddleware),
            Middleware(SecurityHeadersMiddleware),
            Middleware(HeaderSizeLimitMiddleware, max_bytes=settings.max_request_header_size),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", REQUEST_ID_HEADER, *PREFLIGHT_HEADERS],
                expose_headers=[REQUEST_ID_HEADER],
                max_age=600,
            ),
        ],
        lifespan=lifespan,
    )
    app.state.engine = engine
    app.state.services = services
    return app


def _media_routes(settings: Settings) -> list[Mount]:
    """Local uploads are served here; S3 serves its own."""
    if settings.storage_backend != "local":
        return []
    return [Mount("/media", app=MediaFiles(settings.upload_dir), name="media")]


async def health(_request: Request) -> JSONResponse:
    """Liveness: answers without touching the database."""
    return JSONResponse({"status": "ok"})


def _readiness(engine: AsyncEngine):  # noqa: ANN202 - a Starlette endpoint
    async def ready(_request: Request) -> JSONResponse:
        """Readiness: the database answers within the bound, or we are not ready."""
        try:
            async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
                await ping(engine)
        except Exception as exc:  # noqa: BLE001 - whatever the failure, the answer is "not ready"
            logger.warning("Readiness check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return ready


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")


def _init_sentry(settings: Settings) -> None:
    if not settings.sentry_dsn:
        return
    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.environment.value,
        send_default_pii=False,
        include_local_variables=False,
    )
