"""The contenders: what stands between the load generator and the fake upstream (`loadtest/fast_upstream.py`).

- `direct`: nothing (the baseline every other contender is compared with, in the same round);
- `nginx`: Debian's nginx with a plain `proxy_pass`, the floor of one proxy hop;
- `evenhand-POLICY[-wN]`: `evenhand serve --upstream URL --port P --policy policies/POLICY.yaml
  [--workers N]`; when the policy file is missing it runs without `--policy` and is named
  `evenhand-nopolicy[-wN]`, so the figures never claim a policy that did not run;
- `litellm`: LiteLLM's proxy (`litellm --config cfg.yaml --port P`), from its own virtualenv;
- any other OpenAI-compatible proxy given on the command line by its start command and URL.

Each runs as its own process group, on a free loopback port, with its output in the run directory.
"""

from __future__ import annotations

import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from loadtest import peers
from loadtest.cpu import tree_cpu_seconds

REPO = Path(__file__).resolve().parents[1]
ALL = ("direct", "nginx", "evenhand-off", "evenhand-monitor-only", "evenhand-default", "evenhand-default-w2", "litellm")
START_TIMEOUT_S = 120.0
_EVENHAND = re.compile(r"^evenhand(?:-(?P<policy>.+?))?(?:-w(?P<workers>\d+))?$")


class Unavailable(Exception):
    """A contender that cannot run on this machine (its program is not installed)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _post(url: str, body: bytes, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    rest = url.removeprefix("http://")
    hostport, _, path = rest.partition("/")
    host, _, port = hostport.partition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.request("POST", "/" + path, body=body, headers={"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


@dataclass
class Service:
    """A program serving OpenAI's chat completions at `base_url` (None `argv`: already there)."""

    name: str
    argv: list[str] | None
    base_url: str
    note: str = ""
    env: dict[str, str] = field(default_factory=dict)
    headers_seen: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def chat_url(self) -> str:
        return self.base_url + "/chat/completions"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def check_alive(self) -> None:
        """Raise if the program has exited: every later figure would be a connection error."""
        if self.proc is not None and self.proc.poll() is not None:
            code = self.proc.returncode
            how = f"was killed by signal {-code}" if code < 0 else f"exited with {code}"
            raise RuntimeError(f"{self.name} {how} during the run")

    def cpu_seconds(self) -> float | None:
        """CPU spent so far by the whole process tree (None for `direct`)."""
        return tree_cpu_seconds(self.proc.pid) if self.proc else None

    def start(self, log_dir: Path, probe: bytes) -> None:
        """Start the program and return once it has answered one chat request with a 200."""
        if self.argv is not None:
            log = open(log_dir / f"{self.name}.log", "wb")
            env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
            self.proc = subprocess.Popen(self.argv, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
            log.close()
        deadline = time.monotonic() + START_TIMEOUT_S
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode} before it was ready; see {log_dir / (self.name + '.log')}")
            try:
                status, headers, body = _post(self.chat_url, probe)
                if status == 200:
                    self.headers_seen = {k: v for k, v in headers.items() if k.startswith("x-evenhand-")}
                    self._check_policy()
                    return
                last = f"status {status}: {body[:200]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)  # polling a starting server for readiness, bounded by the deadline
        self.stop()
        raise RuntimeError(f"{self.name} was not ready after {START_TIMEOUT_S:.0f} s ({last})")

    def _check_policy(self) -> None:
        """Say so when a policy file was passed but the proxy's answer names another policy."""
        argv = self.argv or []
        if "--policy" not in argv:
            return
        wanted = Path(argv[argv.index("--policy") + 1]).stem
        seen = self.headers_seen.get("x-evenhand-policy")
        if seen != wanted:
            self.note = f"--policy {wanted} was passed but the proxy answered with x-evenhand-policy: {seen}"

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever is left of the group this harness started
        except ProcessLookupError:
            pass
        self.proc.wait()


def fake_upstream(size: int, chunks: int, delay: float, jitter: float = 0.0) -> Service:
    port = free_port()
    argv = [sys.executable, "-m", "loadtest.fast_upstream", "--port", str(port), "--size", str(size), "--chunks", str(chunks),
            "--delay", str(delay), "--jitter", str(jitter)]
    return Service("upstream", argv, f"http://127.0.0.1:{port}/v1")


def _evenhand_command() -> list[str]:
    script = Path(sys.executable).with_name("evenhand")
    return [str(script)] if script.exists() else [sys.executable, "-m", "proxy.cli"]


def evenhand(name: str, upstream: str) -> Service:
    match = _EVENHAND.match(name)
    if not match:
        raise ValueError(f"not an Evenhand contender name: {name}")
    policy, workers = match["policy"], match["workers"]
    port = free_port()
    argv = [*_evenhand_command(), "serve", "--upstream", upstream, "--port", str(port)]
    note = ""
    if policy and policy != "nopolicy":
        path = Path("policies") / f"{policy}.yaml"
        if (REPO / path).exists():
            argv += ["--policy", str(path)]
        else:
            note = f"{path} missing: ran without --policy"
            policy = "nopolicy"
    if workers:
        argv += ["--workers", workers]
    label = "evenhand" + (f"-{policy}" if policy else "") + (f"-w{workers}" if workers else "")
    return Service(label, argv, f"http://127.0.0.1:{port}/v1", note=note)


def nginx(upstream: str, run_dir: Path) -> Service:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        raise Unavailable("nginx is not installed (apt-get install nginx)")
    port = free_port()
    upstream_port = int(upstream.rsplit(":", 1)[1].split("/", 1)[0])
    directory = run_dir / "nginx"
    config = peers.nginx_config(directory, port, upstream_port)
    return Service("nginx", [binary, "-p", str(directory), "-c", str(config)], f"http://127.0.0.1:{port}/v1")


def litellm(upstream: str, run_dir: Path, binary: str | None) -> Service:
    binary = binary or shutil.which("litellm")
    if binary is None or not Path(binary).exists():
        raise Unavailable("LiteLLM's proxy is not installed (give --litellm PATH to its `litellm` command)")
    port = free_port()
    config = peers.litellm_config(run_dir, upstream)
    argv = [binary, "--config", str(config), "--host", "127.0.0.1", "--port", str(port)]
    return Service("litellm", argv, f"http://127.0.0.1:{port}/v1", env=dict(peers.LITELLM_ENV))


def peer(name: str, command: str, url: str, upstream: str) -> Service:
    """Any OpenAI-compatible proxy: `{port}` and `{upstream}` in its command and URL are filled in."""
    port = free_port()
    fill = {"port": port, "upstream": upstream}
    return Service(name, shlex.split(command.format(**fill)), url.format(**fill).rstrip("/"))


def build(name: str, *, upstream: Service, run_dir: Path, litellm_bin: str | None = None) -> Service:
    if name == "direct":
        return Service("direct", None, upstream.base_url)
    if name == "nginx":
        return nginx(upstream.base_url, run_dir)
    if name == "litellm":
        return litellm(upstream.base_url, run_dir, litellm_bin)
    if name.startswith("evenhand"):
        return evenhand(name, upstream.base_url)
    raise ValueError(f"unknown contender {name!r}; known: {', '.join(ALL)} (or evenhand-POLICY[-wN])")
