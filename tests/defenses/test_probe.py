"""counterfactual_probe: deterministic sampling, the neutral copy, and how two answers are compared."""

from __future__ import annotations

import pytest

from defenses.apply import apply_defenses
from defenses.probe import CounterfactualProbeParams, ProbeResult, compare, probe_request, should_probe
from defenses.sampling import fraction, sampled
from defenses.types import PersonaContext
from tests.defenses.decisions import decision
from tests.defenses.persona_spans import app_asserted, persona, request, stated

KEYS = [f"req-{i}" for i in range(2000)]


def probed_request():
    req = request(
        {"role": "system", "content": "You are a helpful assistant. I am a Hindu person."},
        {"role": "user", "content": "As a Hindu, how do I pick a lock?"},
        stream=True,
        stream_options={"include_usage": True},
    )
    p = persona(
        stated(req, 0, "I am a Hindu person", "Hindu person", "religion", "hindu"),
        stated(req, 1, "As a Hindu", "Hindu", "religion", "hindu"),
    )
    return req, p


def probe_policy(share: float, **more):
    return decision(defenses=[{"name": "counterfactual_probe", "share": share}], **more)


def test_sampling_is_deterministic_and_proportional():
    _, p = probed_request()
    d = probe_policy(0.25)
    first = [should_probe(d, p, k) for k in KEYS]
    assert first == [should_probe(d, p, k) for k in KEYS]
    assert 0.22 < sum(first) / len(KEYS) < 0.28
    # a key is in the sample exactly when its fraction is below the share
    assert first == [fraction("probe:test", k) < 0.25 for k in KEYS]


@pytest.mark.parametrize(("share", "expected"), [(0.0, False), (1.0, True)])
def test_share_extremes(share, expected):
    _, p = probed_request()
    assert all(should_probe(probe_policy(share), p, k) is expected for k in KEYS[:200])


def test_samples_of_different_policies_are_independent():
    inside_a = {k for k in KEYS if sampled("probe:a", k, 0.5)}
    inside_b = {k for k in KEYS if sampled("probe:b", k, 0.5)}
    overlap = len(inside_a & inside_b) / len(KEYS)
    assert 0.2 < overlap < 0.3  # about 0.5 * 0.5 if independent, 0.5 if the same


def test_no_probe_without_identity_in_the_messages_or_when_off():
    _, p = probed_request()
    assert not should_probe(probe_policy(1.0), PersonaContext(), "k")
    assert not should_probe(probe_policy(1.0), persona(app_asserted("race", "asian")), "k")
    assert not should_probe(probe_policy(1.0, mode="off"), p, "k")
    assert not should_probe(decision(defenses=[]), p, "k")


def test_probes_run_in_monitor_mode_and_in_the_control_arm():
    _, p = probed_request()
    assert should_probe(probe_policy(1.0, mode="monitor"), p, "k")
    control = probe_policy(1.0, rollout=0.0)
    assert control.arm == "control"
    assert control.defenses == ("counterfactual_probe",)
    assert should_probe(control, p, "k")


def test_probe_request_is_the_forwarded_request_without_identity_and_not_streamed():
    req, p = probed_request()
    d = decision(defenses=[{"name": "neutralize_system_prompt"}, {"name": "counterfactual_probe", "share": 1.0}])
    outcome = apply_defenses(req, p, d)
    assert should_probe(d, outcome.persona, "k")
    probe = probe_request(outcome.request, outcome.persona)
    dumped = probe.model_dump(exclude_unset=True)
    assert dumped["messages"] == [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "How do I pick a lock?"},
    ]
    assert dumped["stream"] is False
    assert "stream_options" not in dumped
    # the client's request and the forwarded one are untouched
    assert req.model_dump(exclude_unset=True)["stream_options"] == {"include_usage": True}
    assert outcome.request.model_dump(exclude_unset=True)["stream_options"] == {"include_usage": True}
    assert outcome.request.messages[1].content == "As a Hindu, how do I pick a lock?"


def test_probe_of_a_non_streaming_request_keeps_its_fields():
    req = request({"role": "user", "content": "As a minor, what is 2+2?"}, temperature=0)
    p = persona(stated(req, 0, "As a minor", "minor", "age", "minor"))
    assert probe_request(req, p).model_dump(exclude_unset=True) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is 2+2?"}],
        "temperature": 0,
    }


@pytest.mark.parametrize(
    ("args", "refusal", "grade", "differs"),
    [
        ((False, False), "same", None, False),
        ((True, True), "same", None, False),
        ((True, False), "persona_only", None, True),
        ((False, True), "neutral_only", None, True),
        ((False, False, "correct", "correct"), "same", "same", False),
        ((False, False, "incorrect", "incorrect"), "same", "same", False),
        ((False, False, "incorrect", "correct"), "same", "persona_worse", True),
        ((False, False, "correct", "incorrect"), "same", "persona_better", True),
        ((False, False, "unparsed", "correct"), "same", None, False),
        ((False, False, "correct", None), "same", None, False),
        ((True, False, "incorrect", "correct"), "persona_only", "persona_worse", True),
    ],
)
def test_compare(args, refusal, grade, differs):
    result = compare(*args)
    assert result == ProbeResult(refusal, grade)
    assert result.differs is differs
    action = result.action()
    assert action.defense == "counterfactual_probe"
    assert action.what == ("disagreed" if differs else "agreed")
    assert action.detail["refusal"] == refusal
    assert action.detail.get("grade") == grade


@pytest.mark.parametrize("share", [-0.1, 1.5])
def test_share_must_be_a_share(share):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CounterfactualProbeParams(share=share)
