"""Opaque keyset cursors. They are signed, so a cursor the server did not issue is refused.

The signature is keyed BLAKE2b, a MAC by design and cheaper to compute than HMAC-SHA256,
which matters because a page signs a cursor per row.
"""

import base64
import binascii
import hashlib
import hmac
from datetime import datetime
from uuid import UUID

from lunchtogether.core.exceptions import InvalidInputError
from lunchtogether.schemas.pagination import Keyset

_MAC_BYTES = 12


class CursorCodec:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"lunchtogether-cursor:" + secret.encode()).digest()

    def encode(self, keyset: Keyset) -> str:
        payload = f"{keyset.created_at.isoformat()}|{keyset.id.hex}".encode()
        return f"{_b64(payload)}.{_b64(self._sign(payload))}"

    def decode(self, cursor: str, *, field: str = "after") -> Keyset:
        try:
            encoded_payload, _, encoded_mac = cursor.encode("ascii").partition(b".")
            payload = base64.urlsafe_b64decode(encoded_payload + b"==")
            if not hmac.compare_digest(base64.urlsafe_b64decode(encoded_mac + b"=="), self._sign(payload)):
                raise ValueError("bad signature")
            created_at, _, id_hex = payload.decode().partition("|")
            keyset = Keyset(created_at=datetime.fromisoformat(created_at), id=UUID(hex=id_hex))
        except (ValueError, binascii.Error):
            raise InvalidInputError({field: "is not a cursor this server issued"}) from None
        return keyset

    def decode_after(self, cursor: str | None) -> Keyset | None:
        """Where the page a client asks for starts: after this keyset, or (None) at the first row."""
        return None if cursor is None else self.decode(cursor)

    def _sign(self, payload: bytes) -> bytes:
        return hashlib.blake2b(payload, key=self._key, digest_size=_MAC_BYTES).digest()


_URL_SAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> str:
    """`base64.urlsafe_b64encode` without its two Python layers: twice per row of a page."""
    return binascii.b2a_base64(data, newline=False).translate(_URL_SAFE).rstrip(b"=").decode()
