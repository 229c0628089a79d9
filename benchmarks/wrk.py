"""Driving wrk: a Lua script per operation that posts its body and checks every answer."""

import json
from dataclasses import dataclass
from pathlib import Path

from benchmarks.database import BenchError
from benchmarks.operations import Operation

RESULT_MARKER = "WRK_RESULT "

_SCRIPT = """\
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
{authorization}
wrk.body = {body}
local expected = {expected}
local needles = {{ {needles} }}
local absent = {{ {absent} }}

local threads = {{}}
function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrong = 0
end

-- Every answer is checked: status 200 and the exact expected body (or, for login and the peer, its fixed parts).
function response(status, headers, body)
  if status ~= 200 or (expected ~= nil and body ~= expected) then
    wrong = wrong + 1
    return
  end
  for _, needle in ipairs(needles) do
    if string.find(body, needle, 1, true) == nil then
      wrong = wrong + 1
      return
    end
  end
  for _, word in ipairs(absent) do
    if string.find(body, word, 1, true) ~= nil then
      wrong = wrong + 1
      return
    end
  end
end

function done(summary, latency, requests)
  local wrong_total = 0
  for _, thread in ipairs(threads) do
    wrong_total = wrong_total + (thread:get("wrong") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"wrong":%d,"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"max_us":%.1f}}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout, wrong_total,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


def _lua_string(text: str) -> str:
    """A Lua long-bracket literal that holds `text` verbatim."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def write_script(path: Path, operation: Operation, token: str | None) -> Path:
    authorization = f'wrk.headers["Authorization"] = "Bearer {token}"' if token else ""
    path.write_text(
        _SCRIPT.format(
            authorization=authorization,
            body=_lua_string(operation.body),
            expected=_lua_string(operation.expected) if operation.expected is not None else "nil",
            needles=", ".join(_lua_string(needle) for needle in operation.needles),
            absent=", ".join(_lua_string(word) for word in operation.absent),
            marker=RESULT_MARKER,
        )
    )
    return path


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration: float  # seconds
    socket_errors: int  # connect, read, write and timeout errors
    wrong: int  # answers that were not 200 with the expected body (non-2xx included)
    p50_ms: float
    p90_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.duration if self.duration else 0.0

    @property
    def errors(self) -> int:
        return self.socket_errors + self.wrong


def wrk_command(
    url: str, script: Path, *, duration: float, connections: int, threads: int, timeout: float
) -> list[str]:
    return [
        "wrk",
        f"-t{min(threads, connections)}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={max(1, round(timeout))}s",
        "-s",
        str(script),
        url,
    ]


def parse_output(output: str, command: list[str]) -> WrkResult:
    for line in output.splitlines():
        if line.startswith(RESULT_MARKER):
            raw = json.loads(line.removeprefix(RESULT_MARKER))
            return WrkResult(
                requests=raw["requests"],
                duration=raw["duration_us"] / 1e6,
                socket_errors=raw["connect"] + raw["read"] + raw["write"] + raw["timeout"],
                wrong=raw["wrong"],
                p50_ms=raw["p50_us"] / 1000,
                p90_ms=raw["p90_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
            )
    raise BenchError(f"wrk gave no result ({' '.join(command)}):\n{output[-2000:]}")
