"""Where uploaded files (avatars) live: a directory on this server, or an S3-compatible bucket.

Uploads arrive as a stream of chunks and are stored as one, so that no backend ever holds a whole
file in memory (S3 holds at most one multipart part), and a failed or oversized upload leaves
nothing behind: the local backend renames a finished temporary file into place, the S3 backend
aborts its multipart upload.
"""

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path, PurePosixPath
from typing import Any, Protocol, Self
from urllib.parse import quote
from uuid import uuid4

import aiofiles
import aiofiles.os
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from lunchtogether.config import Settings
from lunchtogether.core.exceptions import InvalidInputError, NotFoundError

logger = logging.getLogger("lunchtogether.storage")

# Extensions avatars are stored under, with the content type each is served as.
AVATAR_CONTENT_TYPES = {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp", "gif": "image/gif"}
# Pillow names JPEG "JPEG"; a caller passing `image.format.lower()` means jpg.
_EXTENSION_ALIASES = {"jpeg": "jpg"}
# S3 refuses multipart parts smaller than this, except the last.
S3_MIN_PART_SIZE = 5 * 1024 * 1024
READ_CHUNK_SIZE = 64 * 1024
_S3_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


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


class LocalStorage:
    """Files in a directory of this server (`UPLOAD_DIR`), served under `/media/`."""

    def __init__(self, root: Path, base_url: str | None = None) -> None:
        self.root = root.resolve()
        self._base_url = base_url.rstrip("/") if base_url else ""

    def path(self, key: str) -> Path:
        """The file for `key`, proven to lie inside the root even through symbolic links."""
        path = (self.root / PurePosixPath(check_key(key))).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise ValueError(f"invalid storage key {key!r}")
        return path

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, content_type: str) -> None:
        """Write a hidden temporary file beside the target, then rename it over the target.

        The rename is atomic, so readers see the old file or the whole new one, and a failed
        upload only has its temporary file to remove.
        """
        del content_type  # the /media route derives it from the extension
        path = self.path(key)
        await aiofiles.os.makedirs(path.parent, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{uuid4().hex}.part")
        try:
            await _write(temporary, chunks)
            await aiofiles.os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                await aiofiles.os.remove(temporary)
            raise

    async def open(self, key: str) -> ByteStream:
        try:
            file = await aiofiles.open(self.path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise NotFoundError() from None
        return ByteStream(_read_file(file), file.close)

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await aiofiles.os.remove(self.path(key))

    def url(self, key: str) -> str:
        return f"{self._base_url}/media/{quote(check_key(key))}"

    async def close(self) -> None:
        """Nothing to release; here so that every backend shuts down alike."""


async def _write(path: Path, chunks: AsyncIterator[bytes]) -> None:
    """Write and flush to disk, so that the rename never publishes a file a crash could empty."""
    async with aiofiles.open(path, "xb") as file:
        async for chunk in chunks:
            await file.write(chunk)
        await file.flush()
        await asyncio.to_thread(os.fsync, file.fileno())


async def _read_file(file: Any) -> AsyncIterator[bytes]:
    while chunk := await file.read(READ_CHUNK_SIZE):
        yield chunk


class S3Storage:
    """Objects in an S3-compatible bucket (AWS, MinIO, R2...), fetched by clients from `public_url_base`."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key: str | None = None,
        secret_key: str | None = None,
        public_url_base: str | None = None,
        part_size: int = S3_MIN_PART_SIZE,
    ) -> None:
        if part_size < S3_MIN_PART_SIZE:
            raise ValueError(f"part_size must be at least {S3_MIN_PART_SIZE} bytes")
        self.bucket = bucket
        self._endpoint_url = endpoint_url.rstrip("/") if endpoint_url else None
        self._region = region
        # None lets botocore find credentials itself (environment, instance role).
        self._access_key = access_key
        self._secret_key = secret_key
        self._public_url_base = (public_url_base or _default_public_url(bucket, self._endpoint_url, region)).rstrip("/")
        self._part_size = part_size
        self._client: Any = None
        self._exit_stack = AsyncExitStack()
        self._client_lock = asyncio.Lock()

    async def client(self) -> Any:
        """The one client of this storage, made on first use so that building the app needs no network."""
        async with self._client_lock:
            if self._client is None:
                self._client = await self._exit_stack.enter_async_context(self._create_client())
            return self._client

    def _create_client(self) -> Any:
        config = AioConfig(
            # A custom endpoint (MinIO, moto, R2) serves buckets under its path, as public URLs do.
            s3={"addressing_style": "path" if self._endpoint_url else "auto"},
            # Providers other than AWS may refuse the checksums botocore sends by default.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        return get_session().create_client(
            "s3",
            region_name=self._region,
            endpoint_url=self._endpoint_url,
            aws_access_key_id=self._access_key,
            aws_secret_access_key=self._secret_key,
            config=config,
        )

    async def save(self, key: str, chunks: AsyncIterator[bytes], *, content_type: str) -> None:
        """One `put_object` for a file smaller than a part, else a multipart upload, part by part."""
        key = check_key(key)
        client = await self.client()
        upload: _MultipartUpload | None = None
        buffer = bytearray()
        try:
            async for chunk in chunks:
                buffer += chunk
                if len(buffer) >= self._part_size:
                    upload = upload or await _MultipartUpload.start(client, self.bucket, key, content_type)
                    await upload.add(bytes(buffer))
                    buffer.clear()
            if upload is None:
                await client.put_object(Bucket=self.bucket, Key=key, Body=bytes(buffer), ContentType=content_type)
                return
            if buffer:
                await upload.add(bytes(buffer))
            await upload.complete()
        except BaseException:
            if upload is not None:
                await upload.abort()
            raise

    async def open(self, key: str) -> ByteStream:
        client = await self.client()
        try:
            response = await client.get_object(Bucket=self.bucket, Key=check_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _S3_MISSING_CODES:
                raise NotFoundError() from None
            raise
        body = response["Body"]
        return ByteStream(body.iter_chunks(READ_CHUNK_SIZE), body.aclose)

    async def delete(self, key: str) -> None:
        client = await self.client()
        await client.delete_object(Bucket=self.bucket, Key=check_key(key))

    def url(self, key: str) -> str:
        return f"{self._public_url_base}/{quote(check_key(key))}"

    async def close(self) -> None:
        async with self._client_lock:
            self._client = None
            await self._exit_stack.aclose()


def _default_public_url(bucket: str, endpoint_url: str | None, region: str) -> str:
    if endpoint_url:
        return f"{endpoint_url}/{bucket}"
    return f"https://{bucket}.s3.{region}.amazonaws.com"


class _MultipartUpload:
    """One S3 multipart upload in progress: its id and the parts sent so far."""

    def __init__(self, client: Any, bucket: str, key: str, upload_id: str) -> None:
        self._client = client
        self._bucket = bucket
        self._key = key
        self._upload_id = upload_id
        self._parts: list[dict[str, object]] = []

    @classmethod
    async def start(cls, client: Any, bucket: str, key: str, content_type: str) -> "_MultipartUpload":
        response = await client.create_multipart_upload(Bucket=bucket, Key=key, ContentType=content_type)
        return cls(client, bucket, key, response["UploadId"])

    async def add(self, body: bytes) -> None:
        number = len(self._parts) + 1
        response = await self._client.upload_part(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, PartNumber=number, Body=body
        )
        self._parts.append({"PartNumber": number, "ETag": response["ETag"]})

    async def complete(self) -> None:
        await self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts}
        )

    async def abort(self) -> None:
        """Best effort: S3 bills for the parts of an upload never aborted; the original error matters more."""
        try:
            await self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key, UploadId=self._upload_id)
        except (BotoCoreError, ClientError, OSError):
            logger.warning("could not abort the multipart upload of %s", self._key, exc_info=True)


def build_storage(settings: Settings) -> Storage:
    """The backend `STORAGE_BACKEND` names, configured from the settings."""
    if settings.storage_backend == "local":
        return LocalStorage(Path(settings.upload_dir), settings.public_base_url)
    if settings.s3_bucket is None:  # the settings refuse this; narrowed here for the type checker
        raise ValueError("S3_BUCKET must be set when STORAGE_BACKEND is s3")
    return S3Storage(
        bucket=settings.s3_bucket,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key=_secret(settings.s3_access_key_id),
        secret_key=_secret(settings.s3_secret_access_key),
        public_url_base=settings.s3_public_url,
    )


def _secret(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None
