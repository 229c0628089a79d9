"""S3-compatible object storage, for deployments with several server instances."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from typing import Any
from urllib.parse import quote

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError

from lunchtogether.core.exceptions import NotFoundError
from lunchtogether.core.storage.base import (
    READ_CHUNK_SIZE,
    ByteStream,
    check_key,
)

logger = logging.getLogger("lunchtogether.storage")
# S3 refuses multipart parts smaller than this, except the last.
S3_MIN_PART_SIZE = 5 * 1024 * 1024
_S3_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


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
