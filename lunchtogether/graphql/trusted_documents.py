"""Trusted documents: the operations a frontend was built with, read from its manifest at startup.

Two manifest formats are read, the two that frontend tools write: graphql-codegen's client
preset (`persisted-documents.json`, `{"<id>": "<document>"}`) and Apollo's persisted query
manifest (`{"format": "apollo-persisted-query-manifest", "version": 1, "operations": [...]}`).
Every document is parsed and checked against the schema, limits included, once, here: a
manifest that would fail at request time fails the start instead, naming what to fix.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from graphql import DocumentNode, GraphQLError

from lunchtogether.config import Settings
from lunchtogether.graphql.limits import checked_document
from lunchtogether.graphql.schema import Schema

APOLLO_MANIFEST_FORMAT = "apollo-persisted-query-manifest"
_SHA256_ID = re.compile(r"(?:sha256:)?([0-9a-fA-F]{64})")


class TrustedDocumentsError(Exception):
    """The manifest cannot be used; the message is one line naming the file (and the document)."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"TRUSTED_DOCUMENTS {path}: {problem}")


@dataclass(frozen=True, slots=True)
class TrustedDocument:
    id: str
    text: str
    # Parsed and checked once at startup, for what is planned per document ahead of requests.
    document: DocumentNode


def document_key(identifier: str) -> str:
    """The key a document id or APQ hash is looked up by: `sha256:<hex>` and `<hex>` are one SHA-256 id."""
    match = _SHA256_ID.fullmatch(identifier)
    return match.group(1).lower() if match else identifier


class TrustedDocuments:
    def __init__(self, documents: Mapping[str, TrustedDocument]) -> None:
        self._documents = dict(documents)

    def get(self, identifier: str) -> TrustedDocument | None:
        return self._documents.get(document_key(identifier))

    def __len__(self) -> int:
        return len(self._documents)

    @classmethod
    def load(cls, path: str, schema: Schema, *, max_length: int) -> "TrustedDocuments":
        """Raises TrustedDocumentsError for a manifest that cannot be read, is neither format,
        or holds a document that a request could not run."""
        documents: dict[str, TrustedDocument] = {}
        for identifier, text in _manifest_entries(path):
            key = document_key(identifier)
            if key in documents and documents[key].text != text:
                raise TrustedDocumentsError(path, f"the id {identifier!r} names two different documents")
            if len(text) > max_length:
                raise TrustedDocumentsError(
                    path, f"the document {identifier!r} is longer than GRAPHQL_MAX_QUERY_LENGTH ({max_length})"
                )
            try:
                document = checked_document(schema.graphql_schema, text, schema.policy)
            except GraphQLError as error:
                raise TrustedDocumentsError(path, f"the document {identifier!r} is invalid: {error.message}") from None
            documents[key] = TrustedDocument(id=identifier, text=text, document=document)
        return cls(documents)


def load_trusted_documents(settings: Settings, schema: Schema) -> TrustedDocuments | None:
    """The manifest TRUSTED_DOCUMENTS names, checked against `schema`; None without one."""
    if settings.trusted_documents is None:
        return None
    return TrustedDocuments.load(settings.trusted_documents, schema, max_length=settings.graphql_max_query_length)


def _manifest_entries(path: str) -> list[tuple[str, str]]:
    try:
        manifest = json.loads(Path(path).read_bytes())
    except OSError as exc:
        raise TrustedDocumentsError(path, f"cannot be read: {exc.strerror}") from None
    except (ValueError, RecursionError):
        raise TrustedDocumentsError(path, "is not valid JSON") from None
    if isinstance(manifest, dict) and "format" in manifest:
        return _apollo_entries(path, manifest)
    if isinstance(manifest, dict) and all(
        isinstance(key, str) and isinstance(value, str) for key, value in manifest.items()
    ):
        return list(manifest.items())
    raise TrustedDocumentsError(
        path,
        "is neither graphql-codegen's persisted documents ({id: document}) "
        f"nor an {APOLLO_MANIFEST_FORMAT} (format, version, operations)",
    )


def _apollo_entries(path: str, manifest: dict[str, object]) -> list[tuple[str, str]]:
    if manifest.get("format") != APOLLO_MANIFEST_FORMAT or manifest.get("version") != 1:
        raise TrustedDocumentsError(path, f"only format {APOLLO_MANIFEST_FORMAT!r}, version 1 is read")
    operations = manifest.get("operations")
    if not isinstance(operations, list) or not all(
        isinstance(operation, dict) and isinstance(operation.get("id"), str) and isinstance(operation.get("body"), str)
        for operation in operations
    ):
        raise TrustedDocumentsError(path, "'operations' must be a list of objects with a string 'id' and 'body'")
    return [(operation["id"], operation["body"]) for operation in operations]
