"""`lunchtogether serve`: uvicorn with the settings this app needs, after a one-line check of the port."""

import argparse
import signal
import socket
import sys

import uvicorn

from lunchtogether.cli.failures import OperatorError, listen_failure
from lunchtogether.cli.migrations import migrate_and_report
from lunchtogether.config import Settings
from lunchtogether.graphql.schema import build_schema
from lunchtogether.graphql.trusted_documents import TrustedDocumentsError, load_trusted_documents

# With --workers, uvicorn pings every worker and replaces one that does not answer in time. A
# worker it has just spawned imports the whole app again first, which on a loaded machine can
# take longer than uvicorn's default of 5 s: the workers were then killed and restarted in a loop.
WORKER_HEALTH_CHECK_SECONDS = 30


def serve(settings: Settings, args: argparse.Namespace) -> None:
    def stopped(_signal: int, _frame: object) -> None:
        """A stop that was asked for is a success: exit 0, not "killed by SIGTERM".

        uvicorn, once it has shut down gracefully, raises the SIGTERM again for this handler.
        """
        sys.exit(0)

    signal.signal(signal.SIGTERM, stopped)
    _check_can_listen(args.host, args.port)
    _check_trusted_documents(settings)
    if settings.is_development:
        print(migrate_and_report(settings, "head", upgrade=True, debug=args.debug), flush=True)
    uvicorn.run(
        "lunchtogether.main:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        timeout_worker_healthcheck=WORKER_HEALTH_CHECK_SECONDS,
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only.
        proxy_headers=False,
        # The app writes its own access line, with the request id.
        access_log=False,
        server_header=False,
        # On SIGTERM: stop accepting, let the requests in flight finish (so that every answer a
        # client got stands), then run the lifespan's shutdown, which disposes of the engine.
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


def _check_can_listen(host: str, port: int) -> None:
    """uvicorn binds the socket itself and reports a failure at length; this says it in one line.

    The probe binds as uvicorn does (SO_REUSEADDR, so a port in TIME_WAIT is free) and lets go.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except socket.gaierror:
        raise OperatorError(f"cannot find the address {host}: pass --host 127.0.0.1 or --host 0.0.0.0") from None
    except OSError as exc:
        raise OperatorError(listen_failure(exc, host, port)) from exc


def _check_trusted_documents(settings: Settings) -> None:
    """Every server process loads the manifest and would fail at length; this says why in one line, once."""
    try:
        load_trusted_documents(settings, build_schema(settings))
    except TrustedDocumentsError as exc:
        raise OperatorError(f"refusing to start: {exc}") from None
