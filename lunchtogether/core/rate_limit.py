"""Moving-window attempt limits, shared by every server process when Redis is configured."""

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem
from limits import parse as parse_rate
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from lunchtogether.core.exceptions import RateLimitedError


@dataclass(frozen=True, slots=True)
class Limit:
    """A named rate such as `5/minute`; the name keeps the counts of different limits apart."""

    name: str
    rate: RateLimitItem

    @classmethod
    def parse(cls, name: str, rate: str) -> "Limit":
        return cls(name=name, rate=parse_rate(rate))


@dataclass(frozen=True, slots=True)
class AttemptLimits:
    login_per_email: Limit
    login_per_ip: Limit
    register_per_ip: Limit
    change_password_per_user: Limit
    email_verification_per_user: Limit
    password_reset_per_email: Limit
    password_reset_per_ip: Limit


class AttemptLimiter:
    def __init__(self, redis_url: str | None = None) -> None:
        self._strategy = MovingWindowRateLimiter(_storage(redis_url))

    async def hit(self, limit: Limit, key: str) -> None:
        """Counts one attempt under `key`; raises RateLimitedError once the window is full."""
        if await self._strategy.hit(limit.rate, limit.name, key):
            return
        stats = await self._strategy.get_window_stats(limit.rate, limit.name, key)
        raise RateLimitedError(retry_after=max(1, math.ceil(stats.reset_time - time.time())))


def _storage(redis_url: str | None) -> Storage:
    if redis_url is None:
        return MemoryStorage()
    scheme, separator, rest = redis_url.partition("://")
    return RedisStorage(f"async+{scheme}{separator}{rest}", implementation="redispy")
