"""Policies: validation with file/line/field errors, loading, precedence (exhaustively), arms, overrides."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest

from defenses.instructions import EQUAL_TREATMENT_TEXT
from defenses.sampling import fraction
from defenses.types import PersonaAttribute, PersonaContext
from proxy.auth import Caller
from proxy.errors import ProxyError
from proxy.policy import (
    NO_POLICY,
    LoadedPolicy,
    Policy,
    PolicyError,
    PolicySet,
    Scope,
    load_policies,
    read_policy,
    specificity,
)
from proxy.wire import ChatRequest

CALLER = Caller(key_id="0123456789ab", tenant="acme")
RELIGION = PersonaContext((PersonaAttribute("religion", "muslim", "user"),))


def req(model: str = "gpt-4o-mini", user: str | None = None) -> ChatRequest:
    body = {"model": model, "messages": [{"role": "user", "content": "Hi"}]}
    if user is not None:
        body["user"] = user
    return ChatRequest.model_validate(body)


def loaded(name: str, **fields) -> LoadedPolicy:
    return LoadedPolicy(Policy.model_validate({"name": name, **fields}), Path(f"{name}.yaml"), "0" * 64, "configured")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


# --- validation errors name the file, the line and the field ---------------------------------------

BAD = [
    ("name: x\nmode: enforce\nrollout: 1.5\n", [(3, "rollout", "less than or equal to 1")]),
    ("name: x\nmode: enforced\n", [(2, "mode", "Input should be 'enforce', 'monitor' or 'off'")]),
    ("name: x\nscope:\n  models: [a]\n  modles: [b]\n", [(4, "scope.modles", "unknown field")]),
    ("name: x\nscope:\n  keys: [not-a-key-id]\n", [(3, "scope.keys[0]", "should match pattern")]),
    ("name: x\ncolour: red\n", [(2, "colour", "unknown field")]),
    ("mode: enforce\n", [(1, "name", "Field required")]),
    ("name: Not Valid\n", [(1, "name", "lower-case letters")]),
    (
        "name: x\ndefenses:\n  - name: neutralize_system_prompt\n    mode: erase\n",
        [(4, "defenses[0].mode", "Input should be 'remove' or 'generalize'")],
    ),
    (
        "name: x\ndefenses:\n  - name: equal_treatment\n  - name: equal_treatment\n    position: middle\n",
        [(5, "defenses[1].position", "Input should be 'system_end'")],
    ),
    ("name: x\ndefenses:\n  - name: equal_treatment\n    text: '   '\n", [(4, "defenses[0].text", "must not be empty")]),
    ("name: x\ndefenses:\n\n  - name: nonsense\n", [(4, "defenses[0].name", "unknown defense 'nonsense'; known: ")]),
    ("name: x\ndefenses:\n  - mode: remove\n", [(3, "defenses[0].name", "each defense needs a `name:`")]),
    (
        "name: x\ndefenses:\n  - name: refusal_retry\n    buffer_chars: 5\n",
        [(4, "defenses[0].buffer_chars", "greater than or equal to 20")],
    ),
    (
        "name: x\ndefenses:\n  - name: equal_treatment\n  - name: identity_leak_guard\n  - name: equal_treatment\n",
        [(5, "defenses[2].name", "'equal_treatment' is already listed (defenses[0])")],
    ),
    ("name: x\nname: y\n", [(2, "name", "duplicate key (first at line 1)")]),
    ("name: x\nscope: {models: [a\n", [(3, "", "invalid YAML")]),
    ("- name: x\n", [(1, "", "holds one mapping")]),
    ("", [(1, "", "the file is empty")]),
    ("# only a comment\n", [(1, "", "the file is empty")]),
    (
        "name: x\nrollout: 2\ndefenses:\n  - name: counterfactual_probe\n    share: -1\n",
        [(2, "rollout", "less than or equal to 1"), (5, "defenses[0].share", "greater than or equal to 0")],
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD)
def test_bad_files_are_reported_with_file_line_and_field(tmp_path, text, expected):
    path = write(tmp_path, "p.yaml", text)
    with pytest.raises(PolicyError) as info:
        load_policies([path])
    errors = info.value.errors
    assert [(e.file, e.line, e.field) for e in errors] == [(str(path), line, field) for line, field, _ in expected]
    for e, (line, field, message) in zip(errors, expected, strict=True):
        assert message in e.message
        assert str(e) == (f"{path}:{line}: {field}: {e.message}" if field else f"{path}:{line}: {e.message}")


def test_the_exception_is_the_first_error():
    with pytest.raises(PolicyError) as info:
        load_policies([Path("/nonexistent/p.yaml")])
    assert str(info.value) == "/nonexistent/p.yaml: no such file or directory"
    assert info.value.line == 0 and info.value.field == ""


def test_yaml_1_2_booleans_off_stays_off(tmp_path):
    # YAML 1.1 would read `off` as false (and `name: off` as a boolean); policies read it as written
    path = write(tmp_path, "off.yaml", "name: off\nmode: off\ndescription: no\n")
    policy = load_policies([path]).get("off")
    assert policy is not None and policy.file == path
    assert (policy.policy.name, policy.policy.mode, policy.policy.description) == ("off", "off", "no")


def test_read_policy_hashes_the_file(tmp_path):
    import hashlib

    path = write(tmp_path, "p.yaml", "name: p  # comment\n")
    loaded_policy, errors, lines = read_policy(path)
    assert errors == [] and loaded_policy is not None
    assert loaded_policy.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert lines == {("name",): 1}


def test_defaults_of_a_minimal_policy(tmp_path):
    policy = load_policies([write(tmp_path, "p.yaml", "name: p\n")]).get("p")
    assert policy is not None
    assert policy.policy.model_dump() == {
        "name": "p",
        "description": "",
        "mode": "enforce",
        "scope": {"keys": [], "tenants": [], "models": [], "axes": []},
        "rollout": 1.0,
        "apply_always": False,
        "headers": True,
        "defenses": [],
    }


# --- loading several files ---------------------------------------------------------------------------


def test_directories_load_their_yaml_files_in_name_order(tmp_path):
    d = tmp_path / "pol"
    d.mkdir()
    write(d, "b.yaml", "name: b\nscope: {models: [m]}\n")
    write(d, "a.yml", "name: a\nscope: {models: [m]}\n")
    write(d, "notes.txt", "not a policy")
    s = load_policies([d])
    assert [p.name for p in s.configured] == ["a", "b"]
    assert s.choose(req("m"), CALLER, RELIGION).policy == "a"  # equally specific: the first loaded wins


def test_argument_order_is_load_order(tmp_path):
    a = write(tmp_path, "a.yaml", "name: a\n")
    b = write(tmp_path, "b.yaml", "name: b\n")
    assert load_policies([b, a]).choose(req(), CALLER, RELIGION).policy == "b"
    assert load_policies([a, b]).choose(req(), CALLER, RELIGION).policy == "a"


def test_the_same_file_twice_is_loaded_once(tmp_path):
    a = write(tmp_path, "a.yaml", "name: a\n")
    assert [p.name for p in load_policies([a, tmp_path, a]).configured] == ["a"]


def test_duplicate_names_across_files(tmp_path):
    a = write(tmp_path, "a.yaml", "name: same\n")
    b = write(tmp_path, "b.yaml", "# another\nname: same\n")
    with pytest.raises(PolicyError) as info:
        load_policies([a, b])
    assert str(info.value) == f"{b}:2: name: the name 'same' is already used by {a}"


def test_empty_directory_and_missing_path(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PolicyError) as info:
        load_policies([empty, tmp_path / "missing.yaml"])
    assert [str(e) for e in info.value.errors] == [
        f"{empty}: the directory has no .yaml policy files",
        f"{tmp_path / 'missing.yaml'}: no such file or directory",
    ]


def test_one_bad_file_rejects_the_set(tmp_path):
    good = write(tmp_path, "good.yaml", "name: good\n")
    bad = write(tmp_path, "bad.yaml", "name: bad\nmode: loud\n")
    with pytest.raises(PolicyError) as info:
        load_policies([good, bad])
    assert [e.file for e in info.value.errors] == [str(bad)]


# --- precedence: keys > tenants > models > axes, then load order --------------------------------------

DIMENSIONS = ("keys", "tenants", "models", "axes")
MATCHING = {"keys": [CALLER.key_id], "tenants": ["acme"], "models": ["gpt-4o-mini"], "axes": ["religion"]}
SHAPES = list(itertools.product([False, True], repeat=4))


def shaped(shape: tuple[bool, ...], name: str | None = None) -> LoadedPolicy:
    scope = {dim: MATCHING[dim] for dim, on in zip(DIMENSIONS, shape, strict=True) if on}
    label = name or "p-" + "".join("1" if on else "0" for on in shape)
    return loaded(label, scope=scope)


@pytest.mark.parametrize(("a", "b"), [(a, b) for a in SHAPES for b in SHAPES if a != b])
def test_the_more_specific_scope_wins_whatever_the_order(a, b):
    winner = max(a, b)  # tuples compare keys first, then tenants, models, axes
    for order in ((a, b), (b, a)):
        s = PolicySet([shaped(x) for x in order])
        assert s.choose(req(), CALLER, RELIGION).policy == shaped(winner).name


@pytest.mark.parametrize("shape", SHAPES)
def test_equally_specific_the_first_loaded_wins(shape):
    first, second = shaped(shape, "first"), shaped(shape, "second")
    assert PolicySet([first, second]).choose(req(), CALLER, RELIGION).policy == "first"
    assert PolicySet([second, first]).choose(req(), CALLER, RELIGION).policy == "second"


@pytest.mark.parametrize("seed", range(5))
def test_all_sixteen_shapes_are_one_total_order(seed):
    shapes = SHAPES[:]
    random.Random(seed).shuffle(shapes)
    remaining = [shaped(s) for s in shapes]
    chosen = []
    while remaining:
        name = PolicySet(remaining).choose(req(), CALLER, RELIGION).policy
        chosen.append(name)
        remaining = [p for p in remaining if p.name != name]
    assert chosen == [shaped(s).name for s in sorted(SHAPES, reverse=True)]


def test_specificity_is_the_documented_tuple():
    assert specificity(Scope(keys=["0123456789ab"], axes=["age"])) == (True, False, False, True)
    assert specificity(Scope()) == (False, False, False, False)


@pytest.mark.parametrize(
    ("dimension", "other"),
    [("keys", ["ffffffffffff"]), ("tenants", ["globex"]), ("models", ["gpt-4o"]), ("axes", ["gender"])],
)
def test_a_more_specific_policy_that_does_not_match_is_passed_over(dimension, other):
    s = PolicySet([loaded("specific", scope={dimension: other}), loaded("catch-all")])
    assert s.choose(req(), CALLER, RELIGION).policy == "catch-all"


def test_every_named_dimension_must_match():
    both = loaded("both", scope={"keys": [CALLER.key_id], "models": ["other-model"]})
    s = PolicySet([both, loaded("catch-all")])
    assert s.choose(req(), CALLER, RELIGION).policy == "catch-all"
    assert s.choose(req("other-model"), CALLER, RELIGION).policy == "both"


def test_a_list_matches_any_of_its_entries():
    s = PolicySet([loaded("two", scope={"tenants": ["globex", "acme"]})])
    assert s.choose(req(), CALLER, RELIGION).policy == "two"
    assert s.choose(req(), Caller("0123456789ab", "initech"), RELIGION) is NO_POLICY


@pytest.mark.parametrize(
    ("pattern", "model", "matches"),
    [
        ("gpt-4o*", "gpt-4o-mini", True),
        ("gpt-4o", "gpt-4o-mini", False),
        ("gpt-4o-mini", "gpt-4o-mini", True),
        ("claude-*", "gpt-4o-mini", False),
        ("*mini", "gpt-4o-mini", True),
        ("gpt-?o-mini", "gpt-4o-mini", True),
        ("GPT-4O-MINI", "gpt-4o-mini", False),
    ],
)
def test_model_patterns(pattern, model, matches):
    s = PolicySet([loaded("m", scope={"models": [pattern]})])
    assert (s.choose(req(model), CALLER, RELIGION).policy == "m") is matches


def test_axes_match_whatever_the_spelling():
    s = PolicySet([loaded("politics", scope={"axes": ["Political Affiliation"]})])
    stated = PersonaContext((PersonaAttribute("political_affiliation", "democrat", "user"),))
    assert s.choose(req(), CALLER, stated).policy == "politics"
    assert s.choose(req(), CALLER, RELIGION) is NO_POLICY
    assert s.choose(req(), CALLER, PersonaContext()) is NO_POLICY


def test_no_match_no_policy():
    s = PolicySet([loaded("only-acme", scope={"tenants": ["acme"]})])
    assert s.choose(req(), Caller("0123456789ab"), RELIGION) is NO_POLICY
    assert (NO_POLICY.policy, NO_POLICY.mode, NO_POLICY.arm, NO_POLICY.defenses) == ("none", "off", "none", ())


# --- arms -----------------------------------------------------------------------------------------------

USERS = [f"user-{i}" for i in range(2000)]


def test_full_rollout_is_arm_all():
    s = PolicySet([loaded("p")])
    assert s.choose(req(user="u1"), CALLER, RELIGION).arm == "all"


def test_rollout_splits_by_the_user_field_deterministically():
    s = PolicySet([loaded("ab", rollout=0.3, defenses=[{"name": "equal_treatment"}])])
    arms = [s.choose(req(user=u), CALLER, RELIGION).arm for u in USERS]
    assert arms == [s.choose(req(user=u), CALLER, RELIGION).arm for u in USERS]
    assert set(arms) == {"treatment", "control"}
    assert 0.26 < arms.count("treatment") / len(USERS) < 0.34
    assert arms == ["treatment" if fraction("arm:ab", u) < 0.3 else "control" for u in USERS]


def test_without_a_user_field_the_key_decides():
    s = PolicySet([loaded("ab", rollout=0.5)])
    arms = {s.choose(req(), Caller(f"{i:012x}"), RELIGION).arm for i in range(200)}
    assert arms == {"treatment", "control"}
    expected = "treatment" if fraction("arm:ab", CALLER.key_id) < 0.5 else "control"
    assert {s.choose(req(), CALLER, RELIGION).arm for _ in range(10)} == {expected}


def test_treatment_and_control_decisions():
    s = PolicySet([loaded("ab", rollout=0.5, defenses=[{"name": "neutralize_system_prompt"}, {"name": "equal_treatment"}, {"name": "counterfactual_probe"}])])
    by_arm = {}
    for u in USERS[:50]:
        d = s.choose(req(user=u), CALLER, RELIGION)
        by_arm[d.arm] = d
    treatment, control = by_arm["treatment"], by_arm["control"]
    assert treatment.defenses == ("neutralize_system_prompt", "equal_treatment", "counterfactual_probe")
    assert [step.name for step in treatment.rewrites] == ["neutralize_system_prompt"]
    assert [i.text for i in treatment.instructions] == [EQUAL_TREATMENT_TEXT]
    assert control.policy == "ab" and control.mode == "enforce"
    assert control.rewrites == () and control.instructions == () and control.retry_on_refusal is None
    assert control.defenses == ("counterfactual_probe",) and control.probe is not None


@pytest.mark.parametrize(("rollout", "arm"), [(0.0, "control"), (1.0, "all")])
def test_rollout_extremes(rollout, arm):
    s = PolicySet([loaded("p", rollout=rollout)])
    assert {s.choose(req(user=u), CALLER, RELIGION).arm for u in USERS[:200]} == {arm}


def test_decisions_are_precomputed_not_built_per_request():
    s = PolicySet([loaded("p", defenses=[{"name": "equal_treatment"}])])
    assert s.choose(req(), CALLER, RELIGION) is s.choose(req("gpt-4o-mini", "x"), CALLER, RELIGION)


def test_mode_off_decisions_carry_nothing():
    s = PolicySet([loaded("p", mode="off", defenses=[{"name": "equal_treatment"}, {"name": "counterfactual_probe"}])])
    d = s.choose(req(), CALLER, RELIGION)
    assert (d.policy, d.mode, d.arm, d.defenses, d.instructions, d.probe) == ("p", "off", "all", (), (), None)


# --- override -------------------------------------------------------------------------------------------


def test_override_picks_any_policy_by_name_in_arm_override(tmp_path):
    mine = write(tmp_path, "mine.yaml", "name: mine\nrollout: 0\nscope: {tenants: [nobody]}\n")
    s = load_policies([mine])
    d = s.choose(req(), CALLER, RELIGION, override="mine")
    assert (d.policy, d.arm) == ("mine", "override")


@pytest.mark.parametrize("name", ["default", "strict", "study-baseline", "monitor-only", "off"])
def test_shipped_policies_are_reachable_by_override_whatever_is_configured(tmp_path, name):
    s = load_policies([write(tmp_path, "mine.yaml", "name: mine\n")])
    assert [p.name for p in s.configured] == ["mine"]
    assert s.choose(req(), CALLER, RELIGION).policy == "mine"
    d = s.choose(req(), CALLER, RELIGION, override=name)
    assert (d.policy, d.arm) == (name, "override")


def test_a_configured_policy_shadows_a_shipped_name(tmp_path):
    s = load_policies([write(tmp_path, "d.yaml", "name: default\ndefenses: [{name: safety_reminder}]\n")])
    assert s.choose(req(), CALLER, RELIGION, override="default").defenses == ("safety_reminder",)


def test_unknown_override_is_a_400(tmp_path):
    s = load_policies([])
    with pytest.raises(ProxyError) as info:
        s.choose(req(), CALLER, RELIGION, override="nope")
    assert info.value.status == 400
    assert info.value.code == "unknown_policy"
    assert "Unknown policy 'nope'" in info.value.message and "study-baseline" in info.value.message


def test_describe_lists_configured_then_shipped(tmp_path):
    mine = write(tmp_path, "mine.yaml", "name: mine\nscope: {models: [m]}\n")
    described = load_policies([mine]).describe()
    assert [(p["name"], p["source"]) for p in described] == [
        ("mine", "configured"),
        ("default", "shipped"),
        ("monitor-only", "shipped"),
        ("off", "shipped"),
        ("strict", "shipped"),
        ("study-baseline", "shipped"),
    ]
    assert described[0]["file"] == str(mine)
    assert described[0]["scope"]["models"] == ["m"]
    assert len(described[0]["sha256"]) == 64
