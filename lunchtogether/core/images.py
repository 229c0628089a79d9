"""Avatar images: decided by their content, decoded and re-encoded.

Re-encoding at a bounded size strips metadata (EXIF, GPS) and defeats polyglot
files: what is stored is pixels this server wrote, never the client's bytes.
"""

import io
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from lunchtogether.core.exceptions import InvalidInputError
from lunchtogether.core.workers import WorkerThreads

ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF"})
AVATAR_SIZE = (512, 512)
# A 24-megapixel photo passes; a decoded image stays under ~100 MB (JPEGs decode scaled down).
MAX_PIXELS = 24_000_000
NOT_AN_IMAGE = "must be a PNG, JPEG, WebP or GIF image"


@dataclass(frozen=True, slots=True)
class EncodedImage:
    data: bytes
    extension: str
    content_type: str


def normalize_avatar(data: bytes) -> EncodedImage:
    """The avatar as this server encodes it; CPU-bound, so callers run it in a thread."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=sorted(ACCEPTED_FORMATS))
            if image.width * image.height > MAX_PIXELS:
                raise InvalidInputError({"file": f"must be at most {MAX_PIXELS} pixels"})
            if image.format == "JPEG":
                image.draft("RGB", (AVATAR_SIZE[0] * 2, AVATAR_SIZE[1] * 2))  # decode at reduced scale
            image.load()
        except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise InvalidInputError({"file": NOT_AN_IMAGE}) from None
        except (OSError, ValueError, SyntaxError):  # truncated or corrupt image data
            raise InvalidInputError({"file": "is not a complete, valid image"}) from None
    return _encode(image)


def _encode(image: Image.Image) -> EncodedImage:
    has_alpha = image.mode in {"RGBA", "LA", "PA"} or (image.mode == "P" and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail(AVATAR_SIZE)
    output = io.BytesIO()
    if has_alpha:
        image.save(output, format="PNG", optimize=True)
        return EncodedImage(output.getvalue(), "png", "image/png")
    image.save(output, format="JPEG", quality=88, optimize=True)
    return EncodedImage(output.getvalue(), "jpg", "image/jpeg")


class ImageProcessor:
    """Image decoding off the event loop, on the same bounded worker threads as hashing."""

    def __init__(self, *, workers: WorkerThreads) -> None:
        self._workers = workers

    async def avatar(self, data: bytes) -> EncodedImage:
        return await self._workers.run(normalize_avatar, data)
