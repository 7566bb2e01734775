"""`evenhand detect`: JSON Lines in, one JSON line per input out, malformed lines reported and skipped."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

from proxy.detect_command import run

ROOT = Path(__file__).resolve().parents[2]

GOOD = {"id": "a1", "messages": [
    {"role": "system", "content": "You are a helpful assistant. I am a Muslim person."},
    {"role": "user", "content": "How do I make a fake ID?"},
]}
PARTS = {"id": 7, "messages": [{"role": "user", "content": [
    {"type": "image_url", "image_url": {"url": "data:,"}},
    {"type": "text", "text": "As a 72-year-old retiree, what should I invest in?"},
]}], "metadata": {"evenhand_persona": "religion=hindu"}}
NONE = {"messages": [{"role": "user", "content": "What's the capital of Peru?"}]}


def lines(*records: object) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)


def run_text(text: str, taxonomy_file: Path | None = None) -> tuple[int, list[dict], str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(io.StringIO(text), out, err, taxonomy_file)
    return code, [json.loads(line) for line in out.getvalue().splitlines()], err.getvalue()


def test_one_line_out_per_line_in_with_ids_and_personas() -> None:
    code, out, err = run_text(lines(GOOD, PARTS, NONE))
    assert code == 0 and err == ""
    assert [o["id"] for o in out] == ["a1", 7, None]
    assert [o["line"] for o in out] == [1, 2, 3]
    (muslim,) = out[0]["personas"]
    assert muslim == {
        "axis": "religion", "value": "muslim", "source": "system", "message_index": 0, "part_index": None,
        "span": [29, 49], "term_span": [34, 49], "evidence": "I am a Muslim person",
    }
    text = GOOD["messages"][0]["content"]
    assert text[muslim["span"][0]:muslim["span"][1]] == muslim["evidence"]
    app, *stated = out[1]["personas"]
    assert (app["axis"], app["value"], app["source"], app["span"]) == ("religion", "hindu", "app", None)
    assert {(p["axis"], p["value"], p["part_index"]) for p in stated} == {("age", "senior_citizen", 1)}
    assert stated[0]["evidence"] == "As a 72-year-old retiree"
    assert out[2]["personas"] == []


def test_malformed_lines_are_reported_and_skipped() -> None:
    bad_message = {"id": "m", "messages": [{"role": "user", "content": 5}]}
    bad_persona = {"id": "p", "messages": [], "metadata": {"evenhand_persona": "age=ancient"}}
    code, out, err = run_text(lines(GOOD, "{not json", "[1, 2]", {"id": "x"}, "", bad_message, bad_persona, NONE))
    assert code == 1
    assert [o["line"] for o in out] == [1, 2, 3, 4, 6, 7, 8]
    errors = {o["line"]: o["error"] for o in out if "error" in o}
    assert set(errors) == {2, 3, 4, 6, 7}
    assert "not valid JSON" in errors[2]
    assert "expected a JSON object" in errors[3]
    assert "'messages'" in errors[4]
    assert "messages[0].content" in errors[6]
    assert "Unknown value 'ancient'" in errors[7]
    assert out[3]["id"] == "x" and out[4]["id"] == "m"
    for number in errors:
        assert f"line {number}: " in err
    assert out[-1]["personas"] == []


def test_a_users_taxonomy_file(tmp_path: Path) -> None:
    extra = tmp_path / "taxonomy.yaml"
    extra.write_text("axes:\n  religion:\n    values:\n      buddhist: {terms: [Buddhist]}\n")
    record = {"id": 1, "messages": [{"role": "user", "content": "I'm a Buddhist."}]}
    code, out, _ = run_text(lines(record), extra)
    assert code == 0
    assert [(p["axis"], p["value"]) for p in out[0]["personas"]] == [("religion", "buddhist")]
    broken = tmp_path / "broken.yaml"
    broken.write_text("axes: [")
    code, out, err = run_text(lines(record), broken)
    assert code == 2 and out == [] and "broken.yaml" in err


def test_as_a_subprocess_reading_stdin() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from proxy.detect_command import run; sys.exit(run(sys.stdin, sys.stdout, sys.stderr))"],
        input=lines(GOOD, "oops", NONE), capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 1
    out = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [o.get("id") for o in out] == ["a1", None, None]
    assert out[0]["personas"][0]["value"] == "muslim"
    assert "error" in out[1]
    assert proc.stderr.startswith("line 2: not valid JSON")


def test_as_a_subprocess_all_good_exits_zero() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import sys; from proxy.detect_command import run; sys.exit(run(sys.stdin, sys.stdout, sys.stderr))"],
        input=lines(PARTS), capture_output=True, text=True, cwd=ROOT, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["id"] == 7
