import asyncio
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from uuid import UUID

from starlette.requests import Request
from starlette.responses import Response
from strawberry.dataloader import DataLoader

from lunchtogether.core.exceptions import AuthenticationError
from lunchtogether.core.network import Network, client_address
from lunchtogether.dependencies import Dependencies
from lunchtogether.graphql.dataloaders import user_loader
from lunchtogether.graphql.pagination import CursorCodec
from lunchtogether.schemas.user import UserInDB, UserResponse
from lunchtogether.workflows.user.authenticate import AuthenticateInput, Identity

ACCESS_TOKEN_COOKIE = "access_token"


@dataclass(frozen=True, slots=True)
class CookiePolicy:
    """The access-token cookie, set and cleared with the same attributes wherever it is."""

    secure: bool

    def set(self, response: Response, token: str, expires_at: datetime) -> None:
        response.set_cookie(
            ACCESS_TOKEN_COOKIE,
            token,
            expires=expires_at,
            path="/",
            secure=self.secure,
            httponly=True,
            samesite="lax",
        )

    def clear(self, response: Response) -> None:
        response.delete_cookie(ACCESS_TOKEN_COOKIE, path="/", secure=self.secure, httponly=True, samesite="lax")


@dataclass
class Context:
    """What every resolver of one request shares."""

    request: Request
    response: Response
    trusted_proxies: tuple[Network, ...]
    deps: Dependencies
    cursors: CursorCodec
    cookies: CookiePolicy
    _identity: "asyncio.Future[Identity | None] | None" = field(default=None, init=False)
    _by_cookie: bool = field(default=False, init=False)
    sets_cookie: bool = field(default=False, init=False)
    """Whether a resolver set or cleared the access-token cookie (login, logout...)."""

    @cached_property
    def client_ip(self) -> str:
        """The client's address (behind trusted proxies, from X-Forwarded-For)."""
        peer = self.request.client.host if self.request.client else None
        return client_address(peer, self.request.headers.get("x-forwarded-for"), self.trusted_proxies)

    @cached_property
    def user_loader(self) -> DataLoader[UUID, UserResponse | None]:
        """Built on first use: most requests never look a user up by id."""
        return user_loader(self.deps.get_users())

    async def identity(self) -> Identity | None:
        """Who the request acts as, looked up once however many fields ask.

        The first caller starts the lookup; the others await the same future, and
        all of them resume together (which keeps their DataLoader calls in one batch).
        """
        if self._identity is None:
            self._identity = asyncio.ensure_future(self._authenticate())
        return await asyncio.shield(self._identity)

    def known_user_id(self) -> UUID | None:
        """The user this request turned out to act as, if it looked; never looks itself."""
        identity = self._known_identity()
        return identity.user.id if identity else None

    def cookie_identity(self) -> Identity | None:
        """The identity, if the request looked it up and its cookie gave it (not a Bearer header):
        what a renewal of the cookie needs. Never looks itself."""
        return self._known_identity() if self._by_cookie else None

    def _known_identity(self) -> Identity | None:
        identity = self._identity
        if identity is None or not identity.done() or identity.cancelled() or identity.exception() is not None:
            return None
        return identity.result()

    async def current_user(self) -> UserInDB | None:
        identity = await self.identity()
        return identity.user if identity else None

    async def require_identity(self) -> Identity:
        identity = await self.identity()
        if identity is None:
            raise AuthenticationError
        return identity

    async def require_user(self) -> UserInDB:
        return (await self.require_identity()).user

    def sign_in(self, token: str, expires_at: datetime) -> None:
        self.cookies.set(self.response, token, expires_at)
        self.sets_cookie = True

    def sign_out(self) -> None:
        self.cookies.clear(self.response)
        self.sets_cookie = True

    async def _authenticate(self) -> Identity | None:
        token = self._presented_token()
        if token is None:
            return None
        return await self.deps.authenticate().execute(AuthenticateInput(token=token))

    def _presented_token(self) -> str | None:
        """A bearer token in the Authorization header wins over the cookie."""
        scheme, _, token = self.request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        cookie = self.request.cookies.get(ACCESS_TOKEN_COOKIE) or None
        self._by_cookie = cookie is not None
        return cookie
