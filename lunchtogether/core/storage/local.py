"""Files on local disk under UPLOAD_DIR, served at /media."""

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote
from uuid import uuid4

import aiofiles
import aiofiles.os

from lunchtogether.core.exceptions import NotFoundError
from lunchtogether.core.storage.base import (
    READ_CHUNK_SIZE,
    ByteStream,
    check_key,
)


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
