"""The Starlette app: `/graphql` (and its explorer in development), health checks, CORS, request ids, Sentry."""

import gc
import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from lunchtogether.config import Settings, get_settings
from lunchtogether.core.media import MediaFiles
from lunchtogether.core.middleware import REQUEST_ID_HEADER, RequestFrameMiddleware
from lunchtogether.core.observability import configure_logging, init_sentry
from lunchtogether.database import Database, Readiness, create_engine
from lunchtogether.dependencies import Services
from lunchtogether.email_delivery import DeliveryTiming, EmailDelivery
from lunchtogether.explorer import explorer_routes
from lunchtogether.graphql.http_request import PREFLIGHT_HEADERS, HTTPPolicy
from lunchtogether.graphql.persisted_documents import PersistedDocuments
from lunchtogether.graphql.schema import build_schema
from lunchtogether.graphql.trusted_documents import load_trusted_documents
from lunchtogether.graphql.view import GraphQLEndpoint

READINESS_TIMEOUT_SECONDS = 2.0
# What Apollo Client sends when an app names itself (`clientAwareness`): refused in a
# preflight, they would fail every request of such an app on another origin.
APOLLO_CLIENT_AWARENESS_HEADERS = ("apollographql-client-name", "apollographql-client-version")

logger = logging.getLogger("lunchtogether")
# A request allocates thousands of short-lived objects: a larger young generation lets
# most of them die before a collection looks at them (the default is 700, 10, 10).
GC_THRESHOLDS = (50_000, 20, 10)


def create_app(settings: Settings | None = None, *, email_timing: DeliveryTiming | None = None) -> Starlette:
    """The app; `email_timing` is for tests, which want the outbox polled and retried in moments."""
    settings = settings or get_settings()
    configure_logging(settings)
    init_sentry(settings)
    schema = build_schema(settings)
    # Before anything that holds a connection: a manifest that cannot be used refuses the start.
    trusted_documents = load_trusted_documents(settings, schema)
    engine = create_engine(settings)
    services = Services.from_settings(settings)
    database = Database(engine, native_reads=settings.database_native_reads)
    policy = HTTPPolicy.from_settings(settings)
    graphql = GraphQLEndpoint(
        schema=schema,
        services=services,
        database=database,
        policy=policy,
        documents=PersistedDocuments(
            schema=schema,
            trusted=trusted_documents,
            trusted_only=settings.trusted_documents_only,
            store=services.persisted_queries,
        ),
    )
    email_delivery = EmailDelivery(database, services, email_timing or DeliveryTiming())

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncGenerator[None]:
        # Everything built so far lives as long as the process. Frozen, it is left out of the
        # garbage collector's full passes, which would otherwise walk all of it again and again
        # while requests wait (docs/performance.md has the size of that heap).
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        email_delivery.start()
        yield
        await email_delivery.stop()
        await services.close()
        await engine.dispose()

    app = Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            *explorer_routes(policy.explorer),
            Route("/health", health, methods=["GET"]),
            Route("/health/ready", _readiness(engine), methods=["GET"]),
            *_media_routes(settings),
        ],
        middleware=[
            # Outside CORS, as before: a refusal of oversized headers is not given CORS headers.
            Middleware(RequestFrameMiddleware, max_header_bytes=settings.max_request_header_size),
            Middleware(
                CORSMiddleware,
                allow_origins=settings.allowed_origins,
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    REQUEST_ID_HEADER,
                    *PREFLIGHT_HEADERS,
                    *APOLLO_CLIENT_AWARENESS_HEADERS,
                ],
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
    # The wait stops short of the 2 s bound, so that a busy server still answers in time.
    readiness = Readiness(engine, patience=READINESS_TIMEOUT_SECONDS * 0.75)

    async def ready(_request: Request) -> JSONResponse:
        if (failure := await readiness.failure()) is not None:
            logger.warning("Readiness check failed: %s", failure)
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return ready
