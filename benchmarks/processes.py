"""Child processes: started in their own session, always stopped, and their CPU time read from /proc."""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from benchmarks.database import BenchError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


class Processes:
    """Every process the benchmark starts; `stop_all` ends those still running (also on Ctrl-C)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self._running: list[subprocess.Popen] = []
        self._started = 0

    def numbered(self, label: str) -> str:
        """A log name that sorts in the order things ran: `03-wrk-baseline-me`."""
        self._started += 1
        return f"{self._started:02d}-{label}"

    def start(
        self, name: str, argv: Sequence[str], *, env: dict[str, str], cwd: Path, cpus: str | None = None
    ) -> subprocess.Popen:
        if cpus is not None:
            argv = ["taskset", "-c", cpus, *argv]
        executable = shutil.which(argv[0])
        if executable is None:
            raise BenchError(f"{argv[0]} is not installed")
        with (self.log_dir / f"{name}.log").open("ab") as log:
            process = subprocess.Popen(  # noqa: S603 - commands the benchmark builds
                [executable, *argv[1:]],
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: we stop it and its workers, by its id
            )
        self._running.append(process)
        return process

    def stop(self, process: subprocess.Popen, *, grace: float = 10.0) -> None:
        if process.poll() is None:
            try:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # workers left behind, if any
        if process.poll() is None:
            process.wait(timeout=grace)
        if process in self._running:
            self._running.remove(process)

    def stop_all(self) -> None:
        for process in reversed(list(self._running)):
            self.stop(process, grace=5.0)

    def cpu_seconds(self) -> float:
        """CPU time of everything this benchmark started, running or already reaped, and of itself."""
        own = os.times()
        live = sum(tree_cpu_seconds(process.pid) for process in self._running if process.poll() is None)
        return own.user + own.system + own.children_user + own.children_system + live

    def log_tail(self, name: str, lines: int = 25) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(url: str, process: subprocess.Popen, *, body: bytes | None = None, timeout: float = 60.0) -> None:
    """Until `url` answers 200: a GET, or with `body` a JSON POST (PostGraphile has no health route)."""
    deadline = time.monotonic() + timeout
    headers = {"Content-Type": "application/json"} if body is not None else {}
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"{process.args} exited with {process.returncode} before answering {url}")
        request = urllib.request.Request(url, data=body, headers=headers)  # noqa: S310 - a loopback URL we built
        try:
            with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - a loopback URL we built
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(f"nothing answered {url} within {timeout:.0f} s")


def _stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, user+system CPU seconds) of one process, from /proc/<pid>/stat."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rindex(b")") + 2 :].split()
    # After the name: state(3) ppid(4) … utime(14) stime(15), numbered as in proc(5).
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def process_cpu_seconds(pid: int) -> float:
    """CPU time of a single-threaded process, to the nanosecond where /proc/<pid>/schedstat exists.

    /proc/<pid>/stat counts in clock ticks (10 ms): too coarse for twenty database
    backends that each run for a few milliseconds.
    """
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9
    except (OSError, ValueError, IndexError):
        stat = _stat(pid)
        return stat[1] if stat else 0.0


def machine_busy_seconds() -> float:
    """CPU time all cores spent busy (user, nice, system, irq, softirq), from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    user, nice, system, _idle, _iowait, irq, softirq = (int(value) for value in fields[1:8])
    return (user + nice + system + irq + softirq) / CLOCK_TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU time (all threads, user + system) of `root` and every process below it."""
    stats = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(int(entry))) is not None:
            stats[int(entry)] = stat
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in stats.items():
        children.setdefault(parent, []).append(pid)
    total, pending = 0.0, [root]
    while pending:
        pid = pending.pop()
        if pid in stats:
            total += stats[pid][1]
        pending.extend(children.get(pid, ()))
    return total


def wait_idle(root: int, *, window: float = 0.5, busy: float = 0.05, limit: float = 90.0) -> None:
    """Waits until the tree uses under `busy` of a core: work left from a load run (e.g. queued logins) is done."""
    deadline = time.monotonic() + limit
    before = tree_cpu_seconds(root)
    while time.monotonic() < deadline:
        time.sleep(window)
        after = tree_cpu_seconds(root)
        if after - before <= busy * window:
            return
        before = after
