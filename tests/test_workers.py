"""CPU-bound work runs beside the event loop, below its priority, and sees the caller's context."""

import contextvars
import os
import sys
import threading

import pytest

from lunchtogether.core.workers import LOWER_PRIORITY, WorkerThreads

caller = contextvars.ContextVar[str]("caller")


def _priority() -> int:
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are Linux's")
async def test_worker_threads_run_below_the_event_loop():
    workers = WorkerThreads(2)
    loop_priority = _priority()
    try:
        assert await workers.run(_priority) == min(loop_priority + LOWER_PRIORITY, 19)
        assert _priority() == loop_priority  # the loop's own thread is left as it was
    finally:
        workers.close()


async def test_a_call_sees_the_callers_context_and_runs_elsewhere():
    workers = WorkerThreads(1)
    caller.set("request-1")
    try:
        name, value = await workers.run(lambda: (threading.current_thread().name, caller.get()))
    finally:
        workers.close()

    assert value == "request-1"
    assert name.startswith("lunchtogether-cpu")
