"""CPU-bound work (password hashes, image decoding) off the event loop."""

import asyncio
import os
from collections.abc import Callable


class WorkerThreads:
    """Runs CPU-bound calls in threads, at most `size` at once across every kind of work.

    One bound for all of it, so that hashing and image decoding together still leave
    the event loop a core: by default one fewer than the machine has.
    """

    def __init__(self, size: int | None = None) -> None:
        self._slots = asyncio.Semaphore(size or max(1, (os.cpu_count() or 2) - 1))

    async def run[T, *Args](self, function: Callable[[*Args], T], *args: *Args) -> T:
        async with self._slots:
            return await asyncio.to_thread(function, *args)
