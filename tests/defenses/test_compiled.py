"""The compiled build of the detector (setup.py, `make compile`): the stale-module guard, and, when
the tests run against a compiled tree (`make test-compiled`), that they really ran compiled code."""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import os
import subprocess
import sys
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

import pytest

from defenses.compiled import RECORD_NAME, check_compiled, compiled_modules
from tests.paths import REPO


def _package(tmp_path: Path, sources: dict[str, str], *, compiled: tuple[str, ...], recorded: dict[str, str] | None = None) -> Path:
    """A package folder with sources, stand-ins for their extensions, and the build's record."""
    package = tmp_path / "pkg"
    package.mkdir()
    for name, text in sources.items():
        (package / f"{name}.py").write_text(text)
    for name in compiled:
        (package / f"{name}{EXTENSION_SUFFIXES[0]}").write_bytes(b"")
    record = recorded if recorded is not None else {n: hashlib.sha256(t.encode()).hexdigest() for n, t in sources.items()}
    (package / RECORD_NAME).write_text(json.dumps(record))
    return package


def test_fresh_compiled_modules_pass(tmp_path: Path) -> None:
    package = _package(tmp_path, {"persona": "A = 1\n", "age": "B = 2\n"}, compiled=("persona", "age"))
    check_compiled(package)
    assert compiled_modules(package) == ["age", "persona"]


def test_a_source_edited_after_compiling_is_refused_by_name(tmp_path: Path) -> None:
    package = _package(tmp_path, {"persona": "A = 1\n", "age": "B = 2\n"}, compiled=("persona", "age"))
    (package / "age.py").write_text("B = 3\n")
    with pytest.raises(ImportError) as caught:
        check_compiled(package)
    message = str(caught.value)
    assert "pkg/age.py" in message and "persona" not in message
    assert "make compile" in message and "make clean-compiled" in message


def test_a_record_without_extensions_is_not_a_compiled_build(tmp_path: Path) -> None:
    """A wheel built in the checkout leaves the record but puts the extensions elsewhere: the sources run."""
    package = _package(tmp_path, {"persona": "A = 1\n"}, compiled=(), recorded={"persona": "0" * 64})
    check_compiled(package)
    assert compiled_modules(package) == []


def test_no_record_means_interpreted(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "persona.py").write_text("A = 1\n")
    check_compiled(package)
    assert compiled_modules(package) == []


def _setup_list() -> list[str]:
    tree = ast.parse((REPO / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "COMPILED" for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]  # type: ignore[attr-defined]
    raise AssertionError("setup.py has no COMPILED list")


def test_the_compiled_modules_are_the_detectors_and_import_nothing_heavy() -> None:
    paths = _setup_list()
    assert "defenses/persona.py" in paths and "defenses/statements.py" in paths
    for path in paths:
        source = REPO / path
        assert source.exists(), path
        nodes = list(ast.walk(ast.parse(source.read_text())))
        imported = {alias.name.split(".")[0] for node in nodes if isinstance(node, ast.Import) for alias in node.names}
        imported |= {(node.module or "").split(".")[0] for node in nodes if isinstance(node, ast.ImportFrom)}
        assert not imported & {"litellm", "torch", "numpy", "sentence_transformers", "fastapi"}, (path, imported)


@pytest.mark.skipif(os.environ.get("EVENHAND_EXPECT_COMPILED") != "1", reason="runs in `make test-compiled`")
def test_this_run_uses_the_compiled_modules() -> None:
    expected = sorted(Path(p).stem for p in _setup_list())
    assert compiled_modules() == expected
    for name in expected:
        module = importlib.import_module(f"defenses.{name}")
        assert module.__file__ is not None and module.__file__.endswith(tuple(EXTENSION_SUFFIXES)), module.__file__


def test_the_detection_benchmark_runs_and_says_which_build() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtest.bench_detect", "--iterations", "40"], cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    compiled = compiled_modules()
    build = f"compiled with mypyc ({len(compiled)})" if compiled else "interpreted"
    assert f"detector modules: {build}" in done.stdout
    assert "typical, mixed 50/50 [cold]" in done.stdout and "large 20 KB" in done.stdout
