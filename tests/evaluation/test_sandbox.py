from __future__ import annotations

from pathlib import Path

from evaluation.sandbox import extract_code, passes_tests

ADD_TESTS = ("assert add(1, 2) == 3", "assert add(-1, 1) == 0")


def test_correct_code_passes():
    assert passes_tests("def add(a, b):\n    return a + b\n", ADD_TESTS)


def test_wrong_code_or_syntax_error_fails():
    assert not passes_tests("def add(a, b):\n    return a - b\n", ADD_TESTS)
    assert not passes_tests("def add(a, b) return a + b", ADD_TESTS)


def test_input_lines_are_commented_out_as_in_the_study():
    code = "n = int(input())\ndef add(a, b):\n    return a + b\n"
    assert passes_tests(code, ADD_TESTS)


def test_endless_loop_is_stopped():
    assert not passes_tests("def add(a, b):\n    while True:\n        pass\n", ADD_TESTS, timeout=2)


def test_memory_is_limited():
    code = "x = bytearray(4 << 30)\ndef add(a, b):\n    return a + b\n"
    assert not passes_tests(code, ADD_TESTS)


def test_runs_in_an_empty_folder_with_an_empty_environment(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("EVENHAND_SECRET_FOR_TEST", "x")
    code = (
        "import os\n"
        "assert os.listdir('.') == ['solution.py'], os.listdir('.')\n"
        "assert 'EVENHAND_SECRET_FOR_TEST' not in os.environ\n"
        "def add(a, b):\n    return a + b\n"
    )
    assert passes_tests(code, ADD_TESTS)


def test_extract_code_takes_the_first_fenced_block():
    text = "Here:\n```python\ndef add(a, b):\n    return a + b\n```\nand\n```python\nprint(1)\n```"
    assert extract_code(text) == "def add(a, b):\n    return a + b\n"
    assert extract_code("```\nx = 1\n```") == "x = 1\n"
    assert extract_code("def f(): pass") == "def f(): pass"
