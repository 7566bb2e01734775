"""The asyncio load generator: `concurrency` workers on keep-alive connections, each posting the
next body as soon as the last answer (a whole stream, for streams) has arrived.

It costs more CPU per request than wrk, so it is the fallback when wrk is not installed; its own
CPU time is reported with every result so a reader can see when it was the limit.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import time
from pathlib import Path

import aiohttp

from loadtest.drive import TIMEOUT_S, Result

DONE = b"data: [DONE]"


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values (0 when there are none)."""
    if not sorted_values:
        return 0.0
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


async def _drive(url: str, bodies: list[bytes], stream: bool, concurrency: int, duration: float, max_requests: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    order = itertools.cycle(bodies)
    issued = itertools.count()
    headers = {"Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        started = time.perf_counter()
        deadline = started + duration

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline and (max_requests <= 0 or next(issued) < max_requests):
                sent = time.perf_counter()
                try:
                    async with session.post(url, data=next(order), headers=headers) as resp:
                        body = await resp.read()
                        good = resp.status == 200 and (not stream or DONE in body[-64:])
                except (aiohttp.ClientError, asyncio.TimeoutError):
                    good = False
                latencies.append(time.perf_counter() - sent)
                errors += not good

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - started


def drive_aio(url: str, bodies_file: Path, *, stream: bool, concurrency: int, duration: float, max_requests: int) -> Result:
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"load goes to 127.0.0.1 only, not {url}")
    bodies = [line for line in bodies_file.read_bytes().splitlines() if line]
    cpu_before = time.process_time()
    latencies, errors, seconds = asyncio.run(_drive(url, bodies, stream, concurrency, duration, max_requests))
    cpu = time.process_time() - cpu_before
    ordered = sorted(latencies)
    ms = [x * 1000 for x in ordered]
    return Result(
        driver="aio",
        requests=len(ms),
        errors=errors,
        seconds=seconds,
        p50_ms=percentile(ms, 50) if ms else None,
        p90_ms=percentile(ms, 90) if ms else None,
        p99_ms=percentile(ms, 99) if ms else None,
        max_ms=ms[-1] if ms else None,
        mean_ms=sum(ms) / len(ms) if ms else None,
        driver_cpu_seconds=cpu,
        capped=0 < max_requests <= len(ms),
    )
