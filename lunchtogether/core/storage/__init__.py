"""Where uploaded files (avatars) live: a directory on this server, or an S3-compatible bucket.

Uploads arrive as a stream of chunks and are stored as one, so that no backend ever holds a whole
file in memory (S3 holds at most one multipart part), and a failed or oversized upload leaves
nothing behind: the local backend renames a finished temporary file into place, the S3 backend
aborts its multipart upload.
"""

from pathlib import Path

from pydantic import SecretStr

from lunchtogether.config import Settings
from lunchtogether.core.storage.base import (
    AVATAR_CONTENT_TYPES,
    READ_CHUNK_SIZE,
    ByteStream,
    Storage,
    avatar_key,
    check_key,
    read_limited,
)
from lunchtogether.core.storage.local import LocalStorage
from lunchtogether.core.storage.s3 import S3_MIN_PART_SIZE, S3Storage

__all__ = [
    "AVATAR_CONTENT_TYPES",
    "READ_CHUNK_SIZE",
    "S3_MIN_PART_SIZE",
    "ByteStream",
    "LocalStorage",
    "S3Storage",
    "Storage",
    "avatar_key",
    "build_storage",
    "check_key",
    "read_limited",
]


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
