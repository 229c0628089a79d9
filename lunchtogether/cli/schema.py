"""`lunchtogether export-schema`: the GraphQL schema (SDL) that clients generate code from."""

import argparse
import sys

from lunchtogether.cli.failures import OperatorError
from lunchtogether.config import Settings
from lunchtogether.graphql.schema import export_schema


def write_schema(_settings: Settings, args: argparse.Namespace) -> None:
    sdl = export_schema()
    if args.path is None:
        sys.stdout.write(sdl)
        return
    try:
        args.path.write_text(sdl)
    except OSError as exc:
        raise OperatorError(f"cannot write {args.path}: {exc.strerror}: pass a path in a folder that exists") from exc
