"""CPU-bound work (password hashes, image decoding) off the event loop."""

import asyncio
import contextvars
import functools
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

# How much lower than the event loop the threads run (Linux nice steps: 10 gives a thread
# about a tenth of the CPU weight of the loop when both want the same core).
LOWER_PRIORITY = 10


class WorkerThreads:
    """Runs CPU-bound calls in threads of its own: one per core, below the event loop's priority.

    One pool for all of it, so that hashing and image decoding together take at most the
    machine's cores. On Linux the threads run niced: the operating system gives the event
    loop the CPU whenever it has requests to serve, and hashing every cycle left over. With
    one thread fewer than cores instead, a 2-core machine logged in too few users a second
    (docs/performance.md); at the loop's own priority, hashing slowed its requests.
    """

    def __init__(self, size: int | None = None) -> None:
        self._executor = ThreadPoolExecutor(
            size or os.cpu_count() or 1, thread_name_prefix="lunchtogether-cpu", initializer=_lower_priority
        )

    async def run[T, *Args](self, function: Callable[[*Args], T], *args: *Args) -> T:
        # The call sees the caller's context (request id for logs), as with `asyncio.to_thread`.
        call = functools.partial(contextvars.copy_context().run, function, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, call)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _lower_priority() -> None:
    """Linux keeps a nice value per thread; elsewhere it would lower the whole process, loop included."""
    if sys.platform == "linux":
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWER_PRIORITY)
