"""`python -m loadtest.run`: measure the proxy side by side with the baseline and its peers.

Starts the fake upstream and every contender once, then runs rounds; in each round every point
of the matrix (mode x concurrency) is measured for every contender, back to back, in an order
that rotates from point to point, so machine noise hits everyone alike. Prints the results table
and the verdict on each target, and writes everything measured to a JSON file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loadtest import report
from loadtest.bodies import MODEL, build_bodies
from loadtest.contenders import ALL, REPO, Service, Unavailable, build, fake_upstream, peer
from loadtest.cpu import machine_cpu_seconds
from loadtest.drive import drive, wrk_available

QUICK = {"contenders": "direct,nginx,evenhand-default", "concurrency": "1,32", "rounds": 1, "duration": 2.0}
FULL = {"contenders": ",".join(ALL), "concurrency": "1,8,32,64", "rounds": 3, "duration": 3.0}
README = Path(__file__).with_name("README.md")
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
# More distinct newest turns than the persona detector's text cache holds (4,096 by default), so
# each request pays for reading its newest turn as a real one would.
BODIES_PER_MODE = 16384
# A point lasts at least this many answers' latency, so a slow contender's first answers (and the
# ones in flight when time is up) do not eat its throughput; but never more than MAX_STRETCH times
# --duration.
MIN_LATENCIES_PER_POINT = 10
MAX_STRETCH = 6


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m loadtest.run", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help=f"a short run: {QUICK}")
    p.add_argument("--contenders", help=f"comma-separated (full run: {FULL['contenders']})")
    p.add_argument("--concurrency", help="comma-separated connection counts (full run: 1,8,32,64)")
    p.add_argument("--modes", default="plain,stream,plain-model,stream-model",
                   help="plain (non-streaming), stream, and the same against a model-like upstream: plain-model, stream-model")
    p.add_argument("--model-latency", type=float, default=0.05, help="seconds the upstream takes per answer in the -model modes (default 0.05)")
    p.add_argument("--model-jitter", type=float, default=0.5, help="spread of that latency, as a fraction (default 0.5: 25-75 ms)")
    p.add_argument("--model-concurrency", default="32", help="comma-separated connection counts for the -model modes (default 32)")
    p.add_argument("--rounds", type=int, help="rounds over the whole matrix (full run: 3)")
    p.add_argument("--duration", type=float, help="seconds per measurement (full run: 3; wrk rounds to whole seconds)")
    p.add_argument("--max-requests", type=int, default=1_000_000, help="request limit per measurement")
    p.add_argument("--warmup", type=float, default=1.0, help="seconds of unrecorded load per contender and mode before the first round")
    p.add_argument("--driver", choices=("auto", "wrk", "aio"), default="auto", help="load generator (auto: wrk if installed)")
    p.add_argument("--request-size", type=int, default=1024, help="bytes per request body")
    p.add_argument("--size", type=int, default=1000, help="bytes of answer text from the fake upstream")
    p.add_argument("--chunks", type=int, default=16, help="content chunks per streamed answer")
    p.add_argument("--delay", type=float, default=0.0, help="the fake upstream's seconds before each answer in the plain and stream modes")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--litellm", default=os.environ.get("EVENHAND_LITELLM"), help="LiteLLM's `litellm` command, from its own virtualenv (env EVENHAND_LITELLM)")
    p.add_argument("--peer", nargs=3, action="append", default=[], metavar=("NAME", "COMMAND", "URL"), help="another OpenAI-compatible proxy; {port} and {upstream} are filled in")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "latest.json", help="the JSON file to write")
    p.add_argument("--readme", action="store_true", help="also replace the results section of loadtest/README.md")
    args = p.parse_args(argv)
    base = QUICK if args.quick else FULL
    for key, value in base.items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def _version(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (done.stdout + done.stderr).strip().splitlines()
    return text[0] if text else None


def machine(litellm_bin: str | None) -> dict:
    model = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name")), platform.processor())
    litellm_python = Path(litellm_bin).with_name("python") if litellm_bin else None
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": model,
        "cores": len(os.sched_getaffinity(0)),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": os.getloadavg(),
        "evenhand_commit": _version(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
        "wrk": _version(["wrk", "--version"]) if wrk_available() else None,
        "nginx": _version(["nginx", "-v"]) if shutil.which("nginx") else None,
        "litellm": _version([str(litellm_python), "-c", "import importlib.metadata as m; print(m.version('litellm'))"]) if litellm_python and litellm_python.exists() else None,
    }


def settle(services: list[Service], budget_s: float = 3.0) -> None:
    """Wait (bounded) until the processes are idle, so one measurement's stragglers do not bill the next."""
    deadline = time.monotonic() + budget_s
    before = [s.cpu_seconds() or 0.0 for s in services]
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = [s.cpu_seconds() or 0.0 for s in services]
        if sum(now) - sum(before) < 0.005:
            return
        before = now


def window(args: argparse.Namespace, name: str, mode: str, concurrency: int, measurements: list[dict]) -> float:
    """Seconds for the next point: --duration, longer for a contender whose answers take a long time
    (its latency predicted from its last throughput in this mode)."""
    earlier = [m for m in measurements if m["contender"] == name and m["mode"] == mode and m["throughput"] > 0]
    if not earlier:
        return args.duration
    latency = concurrency / earlier[-1]["throughput"]
    return min(max(args.duration, MIN_LATENCIES_PER_POINT * latency), MAX_STRETCH * args.duration)


def measure(service: Service, upstream: Service, bodies: dict[str, Path], mode: str, concurrency: int, args: argparse.Namespace, duration: float) -> dict:
    upstream.check_alive()
    service.check_alive()
    settle([service, upstream])
    cpu0, up0 = service.cpu_seconds(), upstream.cpu_seconds()
    busy0, idle0 = machine_cpu_seconds()
    result = drive(service.chat_url, bodies[mode], stream=is_stream(mode), concurrency=concurrency, duration=duration, max_requests=args.max_requests, driver=args.driver)
    cpu1, up1 = service.cpu_seconds(), upstream.cpu_seconds()
    busy1, idle1 = machine_cpu_seconds()
    upstream.check_alive()  # a process that died during the point leaves no figure
    service.check_alive()
    n = result.requests
    cpu = cpu1 - cpu0 if cpu0 is not None and cpu1 is not None else None
    return {
        **result.to_dict(),
        "cpu_seconds": cpu,
        "cpu_ms_per_request": cpu * 1000 / n if cpu is not None and n else None,
        "upstream_cpu_ms_per_request": (up1 - up0) * 1000 / n if n else None,
        # Cores kept busy meanwhile by everything outside this benchmark (other people's work).
        "other_cores": max(0.0, (busy1 - busy0) - (cpu or 0.0) - (up1 - up0) - result.driver_cpu_seconds) / result.seconds if result.seconds else None,
        "idle_cores": (idle1 - idle0) / result.seconds if result.seconds else None,
    }


def is_stream(mode: str) -> bool:
    return mode.startswith("stream")


def is_model_mode(mode: str) -> bool:
    """The -model modes: the upstream takes a model's time to answer, so the proxy is not the bottleneck."""
    return mode.endswith("-model")


def takes_part(service: Service, mode: str) -> bool:
    # LiteLLM's config names one model; the -model modes ask for the upstream's slow model by name.
    return not (is_model_mode(mode) and service.name.startswith("litellm"))


def rounds(args: argparse.Namespace, upstream: Service, services: list[Service], bodies: dict[str, Path], modes: list[str], concurrencies: list[int], measurements: list[dict]) -> None:
    point = 0
    model_concurrencies = [int(c) for c in args.model_concurrency.split(",") if c]
    for round_ in range(1, args.rounds + 1):
        for mode in modes:
            for concurrency in (model_concurrencies if is_model_mode(mode) else concurrencies):
                taking_part = [s for s in services if takes_part(s, mode)]
                shift = point % len(taking_part)
                point += 1
                for service in taking_part[shift:] + taking_part[:shift]:
                    m = measure(service, upstream, bodies, mode, concurrency, args, window(args, service.name, mode, concurrency, measurements))
                    m.update(round=round_, mode=mode, concurrency=concurrency, contender=service.name)
                    measurements.append(m)
                    cpu = f"{m['cpu_ms_per_request']:.3f} ms/req" if m["cpu_ms_per_request"] is not None else "-"
                    p50, p99 = (f"{m[k]:7.2f}" if m[k] is not None else "      -" for k in ("p50_ms", "p99_ms"))
                    print(f"[round {round_}] {mode:6} c{concurrency:<3} {service.name:24} {m['throughput']:8.0f} req/s  p50 {p50}  p99 {p99} ms  CPU {cpu}  errors {m['errors']}  ({m['seconds']:.0f} s)", file=sys.stderr)


def run(args: argparse.Namespace) -> dict:
    run_dir = Path(tempfile.mkdtemp(prefix="evenhand-loadtest-"))
    modes = [m for m in args.modes.split(",") if m]
    concurrencies = [int(c) for c in args.concurrency.split(",") if c]
    bodies = {}
    for mode in modes:
        path = run_dir / f"{mode}.jsonl"
        model = f"fake-slow-{args.model_latency:g}" if is_model_mode(mode) else MODEL
        path.write_bytes(b"\n".join(build_bodies(BODIES_PER_MODE, stream=is_stream(mode), seed=args.seed, size=args.request_size, model=model)) + b"\n")
        bodies[mode] = path
    probe = next(b for b in build_bodies(2, stream=False, seed=args.seed, size=args.request_size) if b" I am " in b)
    info = machine(args.litellm)
    upstream = fake_upstream(args.size, args.chunks, args.delay, args.model_jitter)
    services: list[Service] = []
    unavailable: dict[str, str] = {}
    measurements: list[dict] = []
    aborted = None
    try:
        upstream.start(run_dir, probe)
        for name in [n for n in args.contenders.split(",") if n]:
            try:
                service = build(name, upstream=upstream, run_dir=run_dir, litellm_bin=args.litellm)
            except Unavailable as exc:
                unavailable[name] = str(exc)
                print(f"skipping {name}: {exc}", file=sys.stderr)
                continue
            if any(s.name == service.name for s in services):
                continue  # e.g. two policies whose files are both missing: the same command twice
            services.append(service)
        services += [peer(name, command, url, upstream.base_url) for name, command, url in args.peer]
        for service in services:
            service.start(run_dir, probe)
            note = f" ({service.note})" if service.note else ""
            print(f"started {service.name}{note} {service.headers_seen or ''}", file=sys.stderr)
            for mode in modes:
                if args.warmup > 0 and takes_part(service, mode):
                    drive(service.chat_url, bodies[mode], stream=is_stream(mode), concurrency=8, duration=args.warmup, max_requests=args.max_requests, driver=args.driver)
        try:
            rounds(args, upstream, services, bodies, modes, concurrencies, measurements)
        except RuntimeError as exc:  # a process died: keep what was measured, and say why it stops there
            aborted = str(exc)
            print(f"run stopped early: {aborted}", file=sys.stderr)
    finally:
        for service in [*services, upstream]:
            service.stop()
    info["load_average_at_end"] = os.getloadavg()
    rows = report.aggregate(measurements, [s.name for s in services])
    return {
        "machine": info,
        "settings": {k: v for k, v in vars(args).items() if k not in ("out", "readme", "litellm", "peer")} | {"driver_used": sorted({m["driver"] for m in measurements})},
        "contenders": [{"name": s.name, "argv": s.argv, "note": s.note, "headers": s.headers_seen} for s in services],
        "unavailable": unavailable,
        "measurements": measurements,
        "rows": rows,
        "targets": report.targets(rows),
        "run_dir": str(run_dir),
        "aborted": aborted,
    }


def summary(results: dict) -> str:
    m, s = results["machine"], results["settings"]
    others = sorted(x["other_cores"] for x in results["measurements"] if x.get("other_cores") is not None)
    idle = sorted(x["idle_cores"] for x in results["measurements"] if x.get("idle_cores") is not None)
    contention = f", other work kept {others[len(others) // 2]:.2f} of the cores busy and {idle[len(idle) // 2]:.2f} stayed idle (medians over points)" if others and idle else ""
    lines = [
        f"Measured {m['date']} on {m['cores']} cores ({m['cpu']}, Linux {m['kernel']}, Python {m['python']}), shared with other work "
        f"(load average {m['load_average_at_start'][0]:.2f} at start, {m['load_average_at_end'][0]:.2f} at end{contention}); "
        f"{s['rounds']} round(s) x {s['duration']:g} s per point (slow contenders longer: at least {MIN_LATENCIES_PER_POINT} latencies, at most {MAX_STRETCH * s['duration']:g} s), load generator {', '.join(s['driver_used'])}; "
        f"requests of {s['request_size']} bytes (half with an identity), answers of {s['size']} bytes, streams of {s['chunks']} chunks; "
        f"in the model-like modes the upstream answers after {s['model_latency'] * 1000:g} ms +- {s['model_jitter'] * 100:g}% (uniform), at concurrency {s['model_concurrency']}; "
        f"Evenhand {m['evenhand_commit']}, {m['nginx'] or 'no nginx'}, LiteLLM {m['litellm'] or 'not run'}.",
        "",
    ]
    for c in results["contenders"]:
        if c["note"]:
            lines.append(f"- `{c['name']}`: {c['note']}.")
    for name, reason in results["unavailable"].items():
        lines.append(f"- `{name}` not run: {reason}.")
    if results.get("aborted"):
        lines.append(f"- The run stopped early, {results['aborted']}: the figures are those measured before.")
    if lines[-1]:
        lines.append("")
    return "\n".join(lines)


def render(results: dict) -> str:
    return summary(results) + "\n" + report.table(results["rows"]) + "\n" + report.targets_table(results["targets"])


def update_readme(text: str, path: Path = README) -> None:
    content = path.read_text()
    head, _, rest = content.partition(BEGIN)
    _, _, tail = rest.partition(END)
    path.write_text(f"{head}{BEGIN}\n{text}\n{END}{tail}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results = run(args)
    text = render(results)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))
    print(f"results written to {args.out}", file=sys.stderr)
    if args.readme:
        update_readme(text)
    failed = sorted({r["contender"] for r in results["rows"] if r["errors"] and r["contender"].startswith("evenhand")})
    if failed:
        print(f"errors from {', '.join(failed)}: see the table", file=sys.stderr)
    return 1 if failed or results["aborted"] else 0


if __name__ == "__main__":
    sys.exit(main())
