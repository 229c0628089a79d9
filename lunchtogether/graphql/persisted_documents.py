"""Which document a request runs: the text it carries, or one it names by id or by hash.

A request names a persisted document by `documentId` (the GraphQL-over-HTTP persisted
documents appendix) or by `extensions.persistedQuery.sha256Hash` (automatic persisted
queries, as Apollo Server has them). Either is looked up among the trusted documents, then
among the documents clients registered; an unknown one is PERSISTED_QUERY_NOT_FOUND, on
which Apollo's and urql's links send the text with its hash: a registration. With
TRUSTED_DOCUMENTS_ONLY nothing but a trusted document runs: any text a request carries is
refused here, before it is parsed, and registrations with it.
"""

from hashlib import sha256

from lunchtogether.core.document_store import DocumentStore
from lunchtogether.core.http_errors import error_body
from lunchtogether.graphql.http_request import NO_DOCUMENT, Operation, RefusedRequestError
from lunchtogether.graphql.limits import is_valid
from lunchtogether.graphql.schema import Schema
from lunchtogether.graphql.trusted_documents import TrustedDocuments, document_key

PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
PERSISTED_QUERY_ONLY = "PERSISTED_QUERY_ONLY"
# Apollo's and urql's links resend the document on this message (or code), as Apollo Server words it.
NOT_FOUND_BODY = error_body("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)
ONLY_BODY = error_body(
    "This server runs trusted documents only: name one by 'documentId' or by its persistedQuery hash.",
    PERSISTED_QUERY_ONLY,
)
# Apollo Server's header on a not-found answer to GET: no cache may keep it once the document is registered.
NOT_FOUND_CACHE_CONTROL = "private, no-cache, must-revalidate"


class PersistedQueryOnlyError(Exception):
    """The request carried a document of its own where only trusted documents run."""


class PersistedDocuments:
    def __init__(
        self, *, schema: Schema, trusted: TrustedDocuments | None, trusted_only: bool, store: DocumentStore
    ) -> None:
        self._schema = schema
        self._trusted = trusted
        self._trusted_only = trusted_only
        self._store = store

    async def text(self, operation: Operation) -> str | None:
        """The document to run; None for an id or hash that names none (PERSISTED_QUERY_NOT_FOUND).

        Raises PersistedQueryOnlyError, and RefusedRequestError for a request that carries a
        document and an id, or a hash that is not its document's.
        """
        if operation.query is not None:
            if self._trusted_only:
                raise PersistedQueryOnlyError
            if operation.document_id is not None:
                raise RefusedRequestError(400, "Send either 'query' or 'documentId', not both.")
            if operation.persisted_query_hash is not None:
                await self._register(operation.persisted_query_hash, operation.query)
            return operation.query
        if operation.document_id is not None and operation.persisted_query_hash is not None:
            raise RefusedRequestError(400, "Name the document once: by 'documentId' or by its persistedQuery hash.")
        identifier = operation.document_id or operation.persisted_query_hash
        if identifier is None:
            raise RefusedRequestError(400, NO_DOCUMENT)
        return await self._find(identifier)

    async def _find(self, identifier: str) -> str | None:
        if self._trusted is not None and (trusted := self._trusted.get(identifier)) is not None:
            return trusted.text
        if self._trusted_only:
            return None
        return await self._store.get(document_key(identifier))

    async def _register(self, sha256_hash: str, query: str) -> None:
        digest = sha256(query.encode()).hexdigest()
        if document_key(sha256_hash) != digest:
            raise RefusedRequestError(400, "The persistedQuery sha256Hash is not the SHA-256 of the query.")
        # As Apollo Server does: a document that could never run is not worth a place in the store.
        if is_valid(self._schema.graphql_schema, query, self._schema.policy):
            await self._store.put(digest, query)
