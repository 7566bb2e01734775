"""`python -m loadtest.bench_clients`: what each HTTP client costs the proxy per upstream request.

The proxy forwards every request with an HTTP client, so the client's own CPU time per request is
part of the proxy's. This measures the candidates the way `proxy/upstream.py` uses a client (one
keep-alive pool, POST 1 KB, read the whole answer or iterate a stream's chunks) against the fake
upstream in another process, on uvloop as the proxy runs: aiohttp's client, httpx with its default
transport (httpcore), and httpx on the aiohttp transport (httpx-aiohttp). Only this process's CPU
time is counted, so the upstream's share is out of the figures. Rounds alternate the clients.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

from loadtest.bodies import build_bodies
from loadtest.contenders import fake_upstream

HEADERS = {"Content-Type": "application/json", "Accept-Encoding": "identity"}


class AiohttpClient:
    name = "aiohttp"

    def __init__(self, url: str, stream: bool) -> None:
        self.url, self.stream = url, stream
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256), auto_decompress=False, skip_auto_headers=("User-Agent",))

    async def send(self, body: bytes) -> int:
        async with self.session.post(self.url, data=body, headers=HEADERS) as resp:
            if self.stream:
                n = 0
                async for chunk in resp.content.iter_any():
                    n += len(chunk)
                return n
            return len(await resp.read())

    async def aclose(self) -> None:
        await self.session.close()


class HttpxClient:
    name = "httpx"

    def __init__(self, url: str, stream: bool, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url, self.stream = url, stream
        limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
        self.client = httpx.AsyncClient(limits=limits, timeout=60, transport=transport)

    async def send(self, body: bytes) -> int:
        if self.stream:
            async with self.client.stream("POST", self.url, content=body, headers=HEADERS) as resp:
                n = 0
                async for chunk in resp.aiter_raw():
                    n += len(chunk)
                return n
        resp = await self.client.post(self.url, content=body, headers=HEADERS)
        return len(resp.content)

    async def aclose(self) -> None:
        await self.client.aclose()


class HttpxAiohttpClient(HttpxClient):
    name = "httpx-aiohttp"

    def __init__(self, url: str, stream: bool) -> None:
        from httpx_aiohttp import AiohttpTransport

        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256), auto_decompress=False)
        super().__init__(url, stream, transport=AiohttpTransport(client=session))


CLIENTS = {c.name: c for c in (AiohttpClient, HttpxClient, HttpxAiohttpClient)}


async def measure(client, bodies: list[bytes], concurrency: int, requests: int) -> tuple[float, float]:
    """(client CPU ms per request, requests per second) for `requests` requests."""
    left = iter(range(requests))

    async def worker(offset: int) -> None:
        for i in left:
            await client.send(bodies[(i + offset) % len(bodies)])

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(concurrency)))
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return cpu * 1000 / requests, requests / wall


async def bench(url: str, names: list[str], modes: list[str], concurrencies: list[int], requests: int, rounds: int) -> list[dict]:
    results: dict[tuple, list[tuple[float, float]]] = {}
    for mode in modes:
        stream = mode == "stream"
        bodies = build_bodies(256, stream=stream)
        clients = [CLIENTS[name](url, stream) for name in names]
        try:
            for client in clients:  # warm the pools and code paths
                await measure(client, bodies, 8, 200)
            for round_ in range(rounds):
                for concurrency in concurrencies:
                    shift = round_ % len(clients)
                    for client in clients[shift:] + clients[:shift]:
                        results.setdefault((mode, concurrency, client.name), []).append(await measure(client, bodies, concurrency, requests))
        finally:
            for client in clients:
                await client.aclose()
    rows = []
    for (mode, concurrency, name), points in results.items():
        rows.append({"mode": mode, "concurrency": concurrency, "client": name, "cpu_ms_per_request": statistics.median(p[0] for p in points), "requests_per_second": statistics.median(p[1] for p in points)})
    return rows


def table(rows: list[dict]) -> str:
    out = ["| mode | conc. | client | client CPU ms/req | req/s | CPU vs aiohttp |", "|---|---:|---|---:|---:|---:|"]
    base = {(r["mode"], r["concurrency"]): r["cpu_ms_per_request"] for r in rows if r["client"] == "aiohttp"}
    for r in sorted(rows, key=lambda r: (r["mode"], r["concurrency"], r["client"])):
        ref = base.get((r["mode"], r["concurrency"]))
        ratio = f"{r['cpu_ms_per_request'] / ref:.2f}x" if ref else "-"
        out.append(f"| {r['mode']} | {r['concurrency']} | {r['client']} | {r['cpu_ms_per_request']:.3f} | {r['requests_per_second']:.0f} | {ratio} |")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m loadtest.bench_clients", description=__doc__.splitlines()[0])
    p.add_argument("--clients", default=",".join(CLIENTS))
    p.add_argument("--modes", default="plain,stream")
    p.add_argument("--concurrency", default="1,32")
    p.add_argument("--requests", type=int, default=3000, help="requests per measurement")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    try:
        import uvloop
    except ImportError:
        uvloop = None
    upstream = fake_upstream(size=1000, chunks=16, delay=0.0)
    run_dir = Path(tempfile.mkdtemp(prefix="evenhand-bench-clients-"))
    try:
        upstream.start(run_dir, build_bodies(1, stream=False)[0])
        main_coro = bench(upstream.chat_url, args.clients.split(","), args.modes.split(","), [int(c) for c in args.concurrency.split(",")], args.requests, args.rounds)
        rows = uvloop.run(main_coro) if uvloop else asyncio.run(main_coro)
    finally:
        upstream.stop()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
