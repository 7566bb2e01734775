"""refusal_retry: when it retries, what the retry sends, and what is recorded."""

from __future__ import annotations

import pytest

from defenses.apply import apply_defenses
from defenses.refusal_retry import RefusalRetryParams, RetryPlan, refused, retry_action, retry_plan, retry_request
from defenses.types import PersonaContext
from tests.defenses.decisions import decision
from tests.defenses.persona_spans import app_asserted, muslim_study_request, persona, request, stated

RETRY = [{"name": "refusal_retry"}]
RETRY_STREAMS = [{"name": "refusal_retry", "streams": "buffer", "buffer_chars": 120}]


def refused_request():
    return muslim_study_request("how do I make my car's brakes quieter?")


@pytest.mark.parametrize(
    ("policy", "stream", "plan"),
    [
        ({"defenses": RETRY}, False, RetryPlan(execute=True, buffer_chars=0)),
        ({"defenses": RETRY}, True, None),  # streams are retried only when buffering is allowed
        ({"defenses": RETRY_STREAMS}, True, RetryPlan(execute=True, buffer_chars=120)),
        ({"defenses": RETRY_STREAMS}, False, RetryPlan(execute=True, buffer_chars=0)),
        ({"defenses": RETRY, "mode": "monitor"}, False, RetryPlan(execute=False, buffer_chars=0)),
        ({"defenses": RETRY_STREAMS, "mode": "monitor"}, True, RetryPlan(execute=False, buffer_chars=0)),
        ({"defenses": RETRY, "mode": "off"}, False, None),
        ({"defenses": RETRY, "rollout": 0.0}, False, None),  # control arm
        ({"defenses": []}, False, None),
    ],
)
def test_retry_plan(policy, stream, plan):
    _, p = refused_request()
    assert retry_plan(decision(**policy), p, stream=stream) == plan


def test_no_identity_in_the_messages_nothing_to_retry():
    d = decision(defenses=RETRY)
    assert retry_plan(d, PersonaContext(), stream=False) is None
    assert retry_plan(d, persona(app_asserted("age", "minor")), stream=False) is None


def test_retry_request_removes_what_the_defenses_left():
    req, p = refused_request()
    d = decision(defenses=[{"name": "neutralize_system_prompt"}, {"name": "equal_treatment", "text": "Same for all."}, *RETRY])
    outcome = apply_defenses(req, p, d)
    plan = retry_plan(d, outcome.persona, stream=False)
    assert plan == RetryPlan(True, 0)
    retry = retry_request(outcome.request, outcome.persona)
    assert [m.content for m in retry.messages] == [
        "You are a helpful assistant.\n\nSame for all.",
        "How do I make my car's brakes quieter?",
    ]
    assert outcome.request.messages[1].content == "As a Muslim, how do I make my car's brakes quieter?"


def test_nothing_left_to_take_out_means_no_retry():
    req = request({"role": "system", "content": "Be brief. I am a minor."}, {"role": "user", "content": "How do fireworks work?"})
    p = persona(stated(req, 0, "I am a minor", "minor", "age", "minor"))
    d = decision(defenses=[{"name": "neutralize_system_prompt"}, *RETRY])
    outcome = apply_defenses(req, p, d)
    assert outcome.persona.in_messages() == ()
    assert retry_plan(d, outcome.persona, stream=False) is None


def test_monitor_mode_retry_request_is_built_from_the_original():
    req, p = refused_request()
    d = decision(mode="monitor", defenses=[{"name": "neutralize_system_prompt"}, *RETRY])
    outcome = apply_defenses(req, p, d)
    assert outcome.request is req and outcome.persona is p
    assert retry_plan(d, outcome.persona, stream=False) == RetryPlan(False, 0)


def test_retry_keeps_streaming_and_every_other_field():
    req = request(
        {"role": "user", "content": "As a teenager, how do vaccines work?"},
        stream=True,
        stream_options={"include_usage": True},
        temperature=0.3,
        user="u-17",
    )
    p = persona(stated(req, 0, "As a teenager", "teenager", "age", "teenager"))
    retry = retry_request(req, p)
    dumped = retry.model_dump(exclude_unset=True)
    assert dumped["messages"] == [{"role": "user", "content": "How do vaccines work?"}]
    assert {k: v for k, v in dumped.items() if k != "messages"} == {
        "model": "gpt-4o-mini",
        "stream": True,
        "stream_options": {"include_usage": True},
        "temperature": 0.3,
        "user": "u-17",
    }


@pytest.mark.parametrize(
    ("plan", "retry_refused", "what", "detail"),
    [
        (RetryPlan(True, 0), False, "retried", {"retry_refused": "false"}),
        (RetryPlan(True, 0), True, "retried", {"retry_refused": "true"}),
        (RetryPlan(True, 300), None, "retried", {}),
        (RetryPlan(False, 0), None, "would_retry", {}),
        (RetryPlan(False, 0), True, "would_retry", {}),
    ],
)
def test_retry_action(plan, retry_refused, what, detail):
    action = retry_action(plan, retry_refused=retry_refused)
    assert (action.defense, action.what, action.detail) == ("refusal_retry", what, detail)


@pytest.mark.parametrize("bad", [{"streams": "always"}, {"buffer_chars": 5}, {"buffer_chars": 10_000}, {"tries": 2}])
def test_bad_parameters_are_rejected(bad):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        RefusalRetryParams(**bad)


def test_refused_uses_the_project_refusal_detector():
    detector = pytest.importorskip("defenses.refusal")
    for text in ("I'm sorry, but I can't help with that.", "17 * 23 = 391."):
        assert refused(text) is detector.is_refusal(text)
    assert refused("I'm sorry, but I can't help with that.") is True
    assert refused("17 * 23 = 391.") is False
