"""Where automatic persisted queries (APQ) keep the documents clients registered by hash.

With Redis every server process knows every hash any of them was sent; without it each
process keeps its own, bounded, and a client that meets a process without the hash simply
sends the document again (that is the protocol). So the store is a cache: a lookup that
fails is a miss and a store that fails is skipped, both logged, and neither fails a request.
"""

import logging
from collections import OrderedDict
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from lunchtogether.config import Settings

logger = logging.getLogger("lunchtogether.persisted_queries")

REDIS_KEY_PREFIX = "lunchtogether:apq:"
# A cache lookup is not worth a long wait: past this the client is told to send the document.
REDIS_TIMEOUT_SECONDS = 2.0


class DocumentStore(Protocol):
    async def get(self, key: str) -> str | None:
        """The document registered under `key`; None when there is none, or it cannot be told."""
        ...

    async def put(self, key: str, document: str) -> None: ...

    async def close(self) -> None: ...


class MemoryDocumentStore:
    """This process's documents, the least recently used dropped past either bound."""

    def __init__(self, *, max_entries: int, max_bytes: int) -> None:
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._bytes = 0

    async def get(self, key: str) -> str | None:
        document = self._documents.get(key)
        if document is not None:
            self._documents.move_to_end(key)
        return document

    async def put(self, key: str, document: str) -> None:
        size = _size(document)
        if size > self._max_bytes:
            return
        if (previous := self._documents.pop(key, None)) is not None:
            self._bytes -= _size(previous)
        self._documents[key] = document
        self._bytes += size
        while len(self._documents) > self._max_entries or self._bytes > self._max_bytes:
            _, evicted = self._documents.popitem(last=False)
            self._bytes -= _size(evicted)

    async def close(self) -> None:
        self._documents.clear()
        self._bytes = 0


class RedisDocumentStore:
    """Documents shared by every process, each kept `ttl_seconds` after it was last registered."""

    def __init__(self, url: str, *, ttl_seconds: int) -> None:
        self._redis = Redis.from_url(
            _redis_py_url(url),
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )
        self._ttl_seconds = ttl_seconds

    async def get(self, key: str) -> str | None:
        try:
            document = await self._redis.get(REDIS_KEY_PREFIX + key)
        except (RedisError, OSError) as exc:
            logger.warning("Persisted query lookup failed, answered as not found: %s", exc)
            return None
        return None if document is None else str(document)

    async def put(self, key: str, document: str) -> None:
        try:
            await self._redis.set(REDIS_KEY_PREFIX + key, document, ex=self._ttl_seconds)
        except (RedisError, OSError) as exc:
            logger.warning("Persisted query not stored (the query still runs): %s", exc)

    async def close(self) -> None:
        await self._redis.aclose()


def build_document_store(settings: Settings) -> DocumentStore:
    if settings.redis_url is not None:
        return RedisDocumentStore(settings.redis_url, ttl_seconds=settings.apq_ttl_seconds)
    return MemoryDocumentStore(max_entries=settings.apq_max_entries, max_bytes=settings.apq_max_bytes)


def _redis_py_url(url: str) -> str:
    """REDIS_URL takes `redis+unix://` as the rate limits' library spells it; redis-py says `unix://`."""
    scheme, separator, rest = url.partition("://")
    return f"unix{separator}{rest}" if scheme == "redis+unix" else url


def _size(document: str) -> int:
    return len(document.encode())
