"""`evenhand policy check` and `evenhand policy schema`."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from proxy.policy import SHIPPED_DIR, PolicyLoader
from proxy.policy_command import check, schema

ROOT = Path(__file__).resolve().parents[2]
ERROR_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?:(?P<field>[\w.\[\]]+): )?(?P<message>.+)$")


def run_check(*paths: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = check(list(paths), out, err)
    return status, out.getvalue(), err.getvalue()


def test_good_files_pass():
    status, out, err = run_check(SHIPPED_DIR / "default.yaml", SHIPPED_DIR / "strict.yaml")
    assert status == 0
    assert err == ""
    assert out.splitlines() == [
        f"{SHIPPED_DIR / 'default.yaml'}: ok: policy 'default', mode enforce, defenses: "
        "neutralize_system_prompt, equal_treatment, identity_leak_guard",
        f"{SHIPPED_DIR / 'strict.yaml'}: ok: policy 'strict', mode enforce, defenses: neutralize_system_prompt, "
        "neutralize_user_identity, equal_treatment, identity_leak_guard, safety_reminder, refusal_retry, counterfactual_probe",
    ]


def test_bad_files_print_file_line_field_and_fail(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("name: good\nrollout: 0.25\n")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmode: enforce\ndefenses:\n  - name: equal_treatment\n    position: middle\n  - name: nope\n")
    status, out, err = run_check(good, bad)
    assert status == 1
    assert out == f"{good}: ok: policy 'good', mode enforce, rollout 0.25, defenses: none\n"
    lines = err.splitlines()
    assert lines[-1] == "2 errors; nothing is valid until all are fixed."
    parsed = [ERROR_LINE.match(line) for line in lines[:-1]]
    assert all(parsed), lines
    assert [(m["file"], int(m["line"]), m["field"]) for m in parsed] == [
        (str(bad), 5, "defenses[0].position"),
        (str(bad), 6, "defenses[1].name"),
    ]


def test_names_must_be_unique_across_the_files_checked(tmp_path):
    a = tmp_path / "a.yaml"
    a.write_text("name: same\n")
    b = tmp_path / "b.yaml"
    b.write_text("name: same\n")
    status, _, err = run_check(a, b)
    assert status == 1
    assert err.splitlines()[0] == f"{b}:1: name: the name 'same' is already used by {a}"


def test_a_directory_is_checked_file_by_file():
    status, out, _ = run_check(SHIPPED_DIR)
    assert status == 0
    assert [line.split(": ok:")[0] for line in out.splitlines()] == [str(p) for p in sorted(SHIPPED_DIR.glob("*.yaml"))]


def test_note_when_nothing_catches_all(tmp_path):
    scoped = tmp_path / "scoped.yaml"
    scoped.write_text("name: scoped\nscope:\n  models: [gpt-4o]\n")
    status, out, _ = run_check(scoped)
    assert status == 0
    assert "note: no policy here has an empty scope" in out
    _, out_with_default, _ = run_check(scoped, SHIPPED_DIR / "default.yaml")
    assert "note:" not in out_with_default


def test_usage_without_files():
    assert run_check() == (2, "", "usage: evenhand policy check FILE_OR_DIRECTORY...\n")


def policy_schema_dict() -> dict:
    out = io.StringIO()
    assert schema(out) == 0
    return json.loads(out.getvalue())


def test_schema_is_a_valid_json_schema_that_accepts_every_shipped_policy():
    s = policy_schema_dict()
    jsonschema.Draft202012Validator.check_schema(s)
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        jsonschema.validate(yaml.load(path.read_text(), Loader=PolicyLoader), s)


@pytest.mark.parametrize(
    "bad",
    [
        {"mode": "enforce"},
        {"name": "x", "mode": "loud"},
        {"name": "x", "colour": "red"},
        {"name": "x", "rollout": 2},
        {"name": "x", "defenses": [{"name": "nope"}]},
        {"name": "x", "defenses": [{"mode": "remove"}]},
        {"name": "x", "defenses": [{"name": "equal_treatment", "position": "middle"}]},
        {"name": "x", "scope": {"keys": ["sk-secret"]}},
    ],
)
def test_schema_rejects_what_the_loader_rejects(bad):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, policy_schema_dict())


def test_schema_documents_fields_for_editors():
    s = policy_schema_dict()
    assert s["title"] == "Evenhand policy"
    assert s["required"] == ["name"]
    assert "monitor" in s["properties"]["mode"]["description"]
    assert s["properties"]["defenses"]["items"]["discriminator"]["propertyName"] == "name"


def test_the_cli_runs_check_and_schema(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nmode: loud\n")
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from proxy.cli import main; sys.exit(main())", "policy", "check", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert run.stderr.startswith(f"{bad}:2: mode: Input should be 'enforce', 'monitor' or 'off'")
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from proxy.cli import main; sys.exit(main())", "policy", "schema"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0
    assert json.loads(run.stdout)["title"] == "Evenhand policy"
