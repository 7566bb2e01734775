"""Driving load at one contender: a fixed number of connections, each sending the next request as
soon as its answer is complete, for a bounded time and a bounded number of requests.

wrk (C, from Debian) is the load generator when it is installed, so the generator is never what
limits the figures; `loadtest/aio_client.py` is the fallback (and the choice for short smoke runs
where wrk is missing). Both read whole answers, streams included, and count as errors any answer
that is not a 200 or a stream that does not end with `data: [DONE]`.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import asdict, dataclass
from pathlib import Path

LUA = Path(__file__).with_name("post.lua")
TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class Result:
    """One measurement. Latencies in milliseconds, from sending a request to its last byte."""

    driver: str
    requests: int  # answers received, good or bad
    errors: int  # bad answers, plus connections that failed or timed out
    seconds: float
    p50_ms: float | None  # None when no answer completed in time
    p90_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    mean_ms: float | None
    driver_cpu_seconds: float
    capped: bool = False  # stopped by the request limit before the time was up: throughput reads low

    @property
    def throughput(self) -> float:
        """Good answers per second."""
        return max(0, self.requests - self.errors) / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "throughput": self.throughput}


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def drive(url: str, bodies_file: Path, *, stream: bool, concurrency: int, duration: float, max_requests: int, driver: str = "auto") -> Result:
    """Load `url` (the chat completions URL) with the bodies in `bodies_file` (one a line)."""
    if driver == "auto":
        driver = "wrk" if wrk_available() and duration >= 1 else "aio"
    if driver == "wrk":
        return drive_wrk(url, bodies_file, stream=stream, concurrency=concurrency, duration=duration, max_requests=max_requests)
    from loadtest.aio_client import drive_aio

    return drive_aio(url, bodies_file, stream=stream, concurrency=concurrency, duration=duration, max_requests=max_requests)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drive_wrk(url: str, bodies_file: Path, *, stream: bool, concurrency: int, duration: float, max_requests: int) -> Result:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"load goes to 127.0.0.1 only, not {url}")
    seconds = max(1, round(duration))  # wrk takes whole seconds
    argv = ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", f"--timeout={TIMEOUT_S}s", "-s", str(LUA), url, "--", str(bodies_file), "1" if stream else "0", str(max_requests)]
    cpu_before = _children_cpu()
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + TIMEOUT_S + 30)
    cpu = _children_cpu() - cpu_before
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith("LOADTEST ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
    data = json.loads(line.removeprefix("LOADTEST "))
    failed = data["connect_errors"] + data["read_errors"] + data["write_errors"] + data["timeouts"]
    answered = data["requests"] > 0
    return Result(
        driver="wrk",
        requests=data["requests"],
        errors=data["bad"] + failed,
        seconds=data["duration_us"] / 1e6,
        p50_ms=data["p50_us"] / 1000 if answered else None,
        p90_ms=data["p90_us"] / 1000 if answered else None,
        p99_ms=data["p99_us"] / 1000 if answered else None,
        max_ms=data["max_us"] / 1000 if answered else None,
        mean_ms=data["mean_us"] / 1000 if answered else None,
        driver_cpu_seconds=cpu,
        capped=0 < max_requests <= data["requests"],
    )
