"""The storage interface, and what every backend shares: keys, streams, size limits."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Protocol, Self
from uuid import uuid4

from lunchtogether.core.exceptions import InvalidInputError

# Extensions avatars are stored under, with the content type each is served as.
AVATAR_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
# Pillow names JPEG "JPEG"; a caller passing `image.format.lower()` means jpg.
_EXTENSION_ALIASES = {"jpeg": "jpg"}
READ_CHUNK_SIZE = 64 * 1024


class ByteStream(AsyncIterator[bytes]):
    """The bytes of one stored file, read on demand.

    It holds an open file or HTTP response, released when the bytes run out, when reading fails
    or is cancelled, or on `aclose()`; a caller that may stop early without cancelling (or never
    start) should call `aclose()` itself.
    """

    def __init__(self, chunks: AsyncIterator[bytes], release: Callable[[], Awaitable[object]]) -> None:
        self._chunks = chunks
        self._release = release
        self._closed = False

    async def __anext__(self) -> bytes:
        if self._closed:
            raise StopAsyncIteration
        try:
            return await anext(self._chunks)
        except BaseException:  # the end of the file included: release it either way
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if not self._closed:
            self._closed = True
            await self._release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        await self.aclose()


class Storage(Protocol):
    """What the upload path and the `/media` route need of a backend."""

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, content_type: str) -> None:
        """Store the chunks under `key`, replacing what was there; all or nothing."""
        ...

    async def open(self, key: str) -> ByteStream:
        """The stored bytes; raises `NotFoundError` here, before any byte, when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove `key`; a key that is not there is not an error (a retried delete succeeds)."""
        ...

    def url(self, key: str) -> str:
        """Where a client fetches `key` from."""
        ...

    async def close(self) -> None:
        """Release network clients; called once at shutdown."""
        ...


async def read_limited(chunks: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """Pass the chunks through, refusing the upload as soon as it grows past `limit` bytes.

    Counting while streaming (not trusting a declared size) bounds what an oversized upload
    costs to `limit` plus one chunk.
    """
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise InvalidInputError({"file": f"must be at most {limit} bytes"})
        yield chunk


def avatar_key(extension: str) -> str:
    """A fresh key for an avatar: unguessable, never reused, so a cached old avatar never shows."""
    normalized = extension.lower().removeprefix(".")
    normalized = _EXTENSION_ALIASES.get(normalized, normalized)
    if normalized not in AVATAR_CONTENT_TYPES:
        raise ValueError(f"{extension!r} is not an avatar extension ({', '.join(AVATAR_CONTENT_TYPES)})")
    return f"avatars/{uuid4().hex}.{normalized}"


def check_key(key: str) -> str:
    """Refuse a key that could name anything but a file we generated (traversal, hidden files)."""
    if not key or "\x00" in key or "\\" in key or ".." in key or key.startswith("/"):
        raise ValueError(f"invalid storage key {key!r}")
    if any(not part or part.startswith(".") for part in key.split("/")):
        raise ValueError(f"invalid storage key {key!r}")
    return key
