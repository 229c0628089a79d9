from collections.abc import AsyncIterator

from pydantic import BaseModel, ConfigDict

from lunchtogether.core.exceptions import AuthenticationError
from lunchtogether.core.images import ImageProcessor
from lunchtogether.core.storage import Storage, avatar_key, read_limited
from lunchtogether.repositories.user import UserRepository
from lunchtogether.schemas.base import InputModel
from lunchtogether.schemas.user import UserInDB, UserResponse


class UploadAvatarInput(InputModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunks: AsyncIterator[bytes]
    """The uploaded file as the client sent it, read a chunk at a time."""


class UploadAvatarOutput(BaseModel):
    user: UserResponse


class UploadAvatarWorkflow:
    """Stores a new avatar, re-encoded by this server, and deletes the one it replaces."""

    def __init__(
        self, *, users: UserRepository, storage: Storage, images: ImageProcessor, max_upload_size: int
    ) -> None:
        self._users = users
        self._storage = storage
        self._images = images
        self._max_upload_size = max_upload_size

    async def execute(self, data: UploadAvatarInput, *, actor: UserInDB) -> UploadAvatarOutput:
        # The size limit holds while reading: an oversized upload is refused, never held whole.
        content = b"".join([chunk async for chunk in read_limited(data.chunks, self._max_upload_size)])
        image = await self._images.avatar(content)
        # Read before the update begins the transaction, so no connection is held while the file is stored.
        current = await self._users.get_by_id(actor.id)
        if current is None:
            raise AuthenticationError
        key = avatar_key(image.extension)
        await self._storage.save(key, _single(image.data), content_type=image.content_type)
        try:
            user = await self._users.update(actor.id, {"avatar_key": key})
        except Exception:
            await self._storage.delete(key)  # nothing refers to it
            raise
        if user is None:
            await self._storage.delete(key)
            raise AuthenticationError
        if current.avatar_key:
            await self._storage.delete(current.avatar_key)
        return UploadAvatarOutput(user=user)


async def _single(data: bytes) -> AsyncIterator[bytes]:
    yield data
