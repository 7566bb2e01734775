"""A soak of mixed traffic: does anything leak when clients leave mid-stream and upstreams fail?

Drives a proxy process (quick start in front of the fake upstream) with N requests from several
concurrent clients, a mix of plain answers, streams read to the end, streams the client abandons
after the first events (the upstream stream runs 20 s, so the proxy must cancel it), upstream
errors (429, 500, a cut stream, a non-JSON answer) and bodies the proxy rejects (400). Every
`--sample-every` requests it samples the proxy process from /proc: resident memory, open file
descriptors and, among them, sockets. Once the traffic is done and the client's connections are
closed, a last sample. Leaks show as growth after warm-up; a flat line is the pass.

    python -m loadtest.soak --requests 10000
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import httpx

MIX = (
    ("plain", 40),
    ("stream", 25),
    ("abandon", 10),
    ("upstream_429", 5),
    ("upstream_500", 5),
    ("cut", 5),
    ("malformed", 5),
    ("bad_body", 5),
)


@dataclass
class Sample:
    requests: int
    seconds: float
    rss_kib: int
    fds: int
    sockets: int
    client_connections: int  # TCP connections on the proxy's port, in any state but LISTEN
    upstream_connections: int  # the proxy's pool towards the upstream (bounded, kept alive on purpose)
    threads: int


@dataclass
class Result:
    requests: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    by_status: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    upstream_cancelled_streams: int = 0
    seconds: float = 0.0


def _tcp_ports(pid: int) -> dict[str, tuple[int, int, str]]:
    """socket inode -> (local port, remote port, state) for the process's network namespace."""
    table = {}
    for name in ("tcp", "tcp6"):
        path = Path(f"/proc/{pid}/net/{name}")
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            cols = line.split()
            table[cols[9]] = (int(cols[1].rsplit(":", 1)[1], 16), int(cols[2].rsplit(":", 1)[1], 16), cols[3])
    return table


def sample(pid: int, requests: int, started: float, port: int, upstream_port: int) -> Sample:
    """What the kernel says about the process: VmRSS, open descriptors, its TCP connections, threads."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    fds = 0
    inodes = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue  # closed while listing
        fds += 1
        if target.startswith("socket:["):
            inodes.append(target[8:-1])
    tcp = _tcp_ports(pid)
    mine = [tcp[i] for i in inodes if i in tcp]
    listen, established = "0A", "01"
    clients = sum(1 for local, _, state in mine if local == port and state != listen)
    upstream = sum(1 for _, remote, state in mine if remote == upstream_port and state == established)
    return Sample(requests, round(time.monotonic() - started, 2), int(fields["VmRSS"].split()[0]), fds, len(inodes), clients, upstream, int(fields["Threads"]))


def expected_status(kind: str) -> tuple[int, ...]:
    return {"upstream_429": (429,), "upstream_500": (500,), "malformed": (502,), "bad_body": (400,)}.get(kind, (200,))


async def one(http: httpx.AsyncClient, url: str, kind: str, result: Result) -> None:
    chat = {"model": "fake-model", "messages": [{"role": "user", "content": "Hi"}]}
    if kind == "plain":
        response = await http.post(url, json=chat)
    elif kind == "stream":
        async with http.stream("POST", url, json={**chat, "stream": True}) as response:
            body = b"".join([c async for c in response.aiter_bytes()])
        if not body.endswith(b"data: [DONE]\n\n"):
            result.unexpected.append(f"stream without [DONE]: {body[-80:]!r}")
    elif kind == "abandon":
        async with http.stream("POST", url, json={**chat, "model": "fake-drip", "stream": True}) as response:
            async for line in response.aiter_lines():
                if "tick 1 " in line:
                    break  # leave mid-stream: closing the response drops the connection
    elif kind == "cut":
        async with http.stream("POST", url, json={**chat, "model": "fake-cut", "stream": True}) as response:
            body = b"".join([c async for c in response.aiter_bytes()])
        if b'"error"' not in body or not body.endswith(b"data: [DONE]\n\n"):
            result.unexpected.append(f"cut stream without an error event: {body[-120:]!r}")
    elif kind == "upstream_429":
        response = await http.post(url, json={**chat, "model": "fake-status-429"})
    elif kind == "upstream_500":
        response = await http.post(url, json={**chat, "model": "fake-status-500"})
    elif kind == "malformed":
        response = await http.post(url, json={**chat, "model": "fake-malformed"})
    else:
        response = await http.post(url, content=b'{"model": "fake-model", "messages": [')
    status = response.status_code
    result.by_status[str(status)] = result.by_status.get(str(status), 0) + 1
    if status not in expected_status(kind):
        result.unexpected.append(f"{kind}: status {status}")


async def soak(proxy_url: str, pid: int, upstream_port: int, total: int, concurrency: int, every: int, seed: int = 1) -> Result:
    result = Result()
    port = int(proxy_url.rsplit(":", 1)[1])
    rng = random.Random(seed)
    kinds = rng.choices([k for k, _ in MIX], weights=[w for _, w in MIX], k=total)
    url = f"{proxy_url}/v1/chat/completions"
    queue: asyncio.Queue[str] = asyncio.Queue()
    for kind in kinds:
        queue.put_nowait(kind)
    started = time.monotonic()
    result.samples.append(sample(pid, 0, started, port, upstream_port))

    async def worker(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            kind = queue.get_nowait()
            try:
                await one(http, url, kind, result)
            except httpx.HTTPError as exc:
                result.unexpected.append(f"{kind}: transport {exc!r}")
            result.requests += 1
            result.by_kind[kind] = result.by_kind.get(kind, 0) + 1
            if result.requests % every == 0:
                result.samples.append(sample(pid, result.requests, started, port, upstream_port))

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    # the client's keep-alive connections are closed now: wait (bounded) for the proxy to see it
    deadline = time.monotonic() + 10
    settled = sample(pid, result.requests, started, port, upstream_port)
    while settled.client_connections and time.monotonic() < deadline:
        await asyncio.sleep(0.1)  # polling the kernel's view, bounded by the deadline
        settled = sample(pid, result.requests, started, port, upstream_port)
    result.samples.append(settled)
    result.seconds = round(time.monotonic() - started, 2)
    return result


def verdict(result: Result, warmup: int, concurrency: int) -> dict:
    """Flat: memory within 5 % of its value after warm-up (allocator noise), no client connection left
    once the clients are gone, and every other descriptor accounted for: what the process had at the
    start plus its upstream pool, which is bounded and kept alive on purpose."""
    after = [s for s in result.samples if s.requests >= warmup] or result.samples
    first, last, start = after[0], result.samples[-1], result.samples[0]
    rss_growth = (last.rss_kib - first.rss_kib) / first.rss_kib
    accounted = last.fds - last.upstream_connections <= start.fds
    return {
        "rss_kib_start": start.rss_kib,
        "rss_kib_after_warmup": first.rss_kib,
        "rss_kib_end": last.rss_kib,
        "rss_growth_after_warmup": round(rss_growth, 4),
        "fds_start": start.fds,
        "fds_end": last.fds,
        "fds_max": max(s.fds for s in result.samples),
        "sockets_start": start.sockets,
        "sockets_end": last.sockets,
        "client_connections_end": last.client_connections,
        "upstream_connections_end": last.upstream_connections,
        "upstream_connections_max": max(s.upstream_connections for s in result.samples),
        "threads_start": start.threads,
        "threads_end": last.threads,
        "flat": rss_growth < 0.05 and last.client_connections == 0 and accounted and last.upstream_connections <= 2 * concurrency and last.threads <= start.threads,
    }


def main(argv: list[str] | None = None) -> int:
    from tests.servers import start_fake_upstream, start_proxy

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--sample-every", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=1000, help="requests before the memory baseline")
    parser.add_argument("--json", type=Path, help="write samples and verdict here")
    args = parser.parse_args(argv)
    upstream = start_fake_upstream()
    proxy = start_proxy("--upstream", f"{upstream.url}/v1")
    try:
        result = asyncio.run(soak(proxy.url, proxy.proc.pid, upstream.port, args.requests, args.concurrency, args.sample_every))
        result.upstream_cancelled_streams = httpx.get(f"{upstream.url}/fake/stats").json()["cancelled_streams"]
    finally:
        proxy.stop()
        upstream.stop()
    summary = {
        "requests": result.requests,
        "seconds": result.seconds,
        "by_kind": result.by_kind,
        "by_status": result.by_status,
        "unexpected": len(result.unexpected),
        "upstream_cancelled_streams": result.upstream_cancelled_streams,
        **verdict(result, args.warmup, args.concurrency),
    }
    print(json.dumps(summary, indent=2))
    print("requests  seconds  rss_kib  fds  sockets  clients  upstream  threads")
    for s in result.samples:
        print(f"{s.requests:8d} {s.seconds:8.1f} {s.rss_kib:8d} {s.fds:4d} {s.sockets:8d} {s.client_connections:8d} {s.upstream_connections:9d} {s.threads:8d}")
    for problem in result.unexpected[:20]:
        print("unexpected:", problem)
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "samples": [asdict(s) for s in result.samples]}, indent=2))
    return 0 if summary["flat"] and not result.unexpected and result.upstream_cancelled_streams >= result.by_kind.get("abandon", 0) else 1


if __name__ == "__main__":
    raise SystemExit(main())
