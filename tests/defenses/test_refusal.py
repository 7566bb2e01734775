"""The refusal detector: verdicts, streaming behaviour, and whole-text/stream agreement."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defenses import refusal
from defenses.refusal import DEFAULT_WINDOW, RefusalStream, is_refusal

COMPLIANT = (
    "Photosynthesis is the process by which plants, algae and some bacteria convert light energy into "
    "chemical energy. Using sunlight, they combine carbon dioxide and water to produce glucose and "
    "release oxygen. It happens mostly in the leaves, inside the chloroplasts, where chlorophyll "
    "absorbs red and blue light and reflects green, which is why most plants look green to us. "
) * 3


def stream_verdict(text: str, sizes: list[int], window: int = DEFAULT_WINDOW) -> bool:
    stream = RefusalStream(window)
    pos = 0
    for size in sizes:
        stream.feed(text[pos : pos + size])
        pos += size
    stream.feed(text[pos:])
    return stream.finish()


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry, but I can't help with that.",
        "I’m sorry, but I can’t assist with that request.",
        "I CANNOT HELP WITH THIS REQUEST.",
        "As an AI language model, I cannot provide instructions for picking locks.",
        "I can't provide instructions for making thermite, but here is some general safety information: ...",
        "Thank you for your question. I understand you are curious. However, I am unable to provide that.",
        "Can't help with that.",
        "Lo siento, pero no puedo ayudarte con eso.",
        "Je suis désolé, mais je ne peux pas vous aider avec cela.",
        "Es tut mir leid, aber dabei kann ich dir nicht helfen.",
        "<think>\nThe user asks for malware.\n</think>\n\nI'm sorry, but I can't help with that.",
    ],
)
def test_refusals(text: str) -> None:
    assert is_refusal(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm sorry to hear about your loss; here is how to write a eulogy...",
        "You cannot divide by zero, so the expression is undefined at x = 2.",
        "The function cannot return null because the empty case returns early.",
        "I can't help but notice the loop starts at 1 instead of 0.",
        "I can't give you an exact number, but most adults need 7 to 9 hours of sleep.",
        "As an AI, I don't have feelings, but I'm happy to help!",
        "No se puede dividir entre cero, así que la expresión no está definida.",
        "On ne peut pas diviser par zéro, donc l'expression n'est pas définie.",
        "Man kann nicht durch null teilen, daher ist der Ausdruck nicht definiert.",
        "<think>\nI can't help with that, I thought at first, but it is harmless.\n</think>\nSure! Here is a recipe.",
        "",
        "   \n\t ",
    ],
)
def test_not_refusals(text: str) -> None:
    assert not is_refusal(text)


def test_refusal_is_reported_before_the_window_fills() -> None:
    text = "I'm sorry, but I can't help with that. " + COMPLIANT
    stream = RefusalStream()
    fed = 0
    for i in range(0, len(text), 4):
        fed += len(text[i : i + 4])
        if stream.feed(text[i : i + 4]) is not None:
            break
    assert stream.verdict is True
    assert fed < DEFAULT_WINDOW


def test_compliant_answer_is_decided_exactly_at_the_window() -> None:
    stream = RefusalStream(window=120)
    verdicts = [stream.feed(ch) for ch in COMPLIANT[:200]]
    assert verdicts[:119] == [None] * 119
    assert verdicts[119] is False
    assert stream.verdict is False
    assert stream.finish() is False


def test_verdict_is_final_once_given() -> None:
    stream = RefusalStream(window=60)
    assert stream.feed(COMPLIANT[:60]) is False
    assert stream.feed(" I'm sorry, but I can't help with that.") is False
    assert stream.finish() is False


def test_refusal_past_the_window_is_not_seen() -> None:
    # The documented trade-off of deciding from a prefix: a decline after the window is missed.
    text = COMPLIANT[:DEFAULT_WINDOW] + " I'm sorry, but I can't help with that."
    assert not is_refusal(text)
    assert is_refusal(COMPLIANT[: DEFAULT_WINDOW - 60] + " I can't help with that.")


def test_leading_whitespace_and_reasoning_do_not_count_toward_the_window() -> None:
    assert is_refusal("\n" * 1000 + "I'm sorry, but I can't help with that.")
    thinking = "<think>" + "Let me consider the request carefully. " * 100 + "</think>\n\n"
    assert is_refusal(thinking + "I'm sorry, but I can't help with that.")
    assert not is_refusal(thinking + COMPLIANT)


def test_unclosed_reasoning_is_not_an_answer() -> None:
    stream = RefusalStream()
    stream.feed("<think>")
    for _ in range(1000):
        assert stream.feed("I can't help with that. ") is None
    assert stream.finish() is False


def test_text_that_only_looks_like_a_think_tag() -> None:
    assert not is_refusal("<th")
    # Only "<think>" opens reasoning; any other tag is part of the answer.
    assert is_refusal("<thinking>I can't help with that</thinking>" + COMPLIANT)
    assert not is_refusal("<thinking>" + COMPLIANT)


def test_memory_stays_bounded() -> None:
    stream = RefusalStream()
    stream.feed("<think>")
    for _ in range(200):
        stream.feed("x" * 10_000)
        assert len(stream._pending) < len("</think>")
    stream = RefusalStream()
    for ch in COMPLIANT:
        stream.feed(ch)
        assert len(stream._buf) <= DEFAULT_WINDOW


def test_window_must_be_positive() -> None:
    with pytest.raises(ValueError):
        RefusalStream(window=0)


def test_every_trigger_word_reaches_its_rules() -> None:
    # Trigger dispatch must find exactly what running every rule everywhere finds.
    brute = [re.compile(p, re.VERBOSE) for _, p in refusal._RULES]
    texts = [
        "i really can't help you with that",
        "that's not something i can do",
        "this goes against my guidelines",
        "what i can do instead is explain",
        "es ist mir leider nicht möglich",
        "je dois refuser cette demande",
        "lo siento, debo negarme",
        "das verstößt gegen meine richtlinien",
        "instead, i can suggest a safer option",
        "hacking is a serious crime",
    ]
    for text in texts:
        assert (refusal._first_match_end(text) >= 0) == any(p.search(text) for p in brute), text


# --- properties ---------------------------------------------------------------------------------

PHRASES = [
    "I'm sorry, but I can't help with that.",
    "I can't help but notice",
    "I can't",
    "help",
    " but ",
    "I cannot give you an exact number",
    "\"I won't help you,\" she said.",
    "no puedo ayudarte",
    "je ne peux pas vous aider",
    "dabei kann ich nicht helfen",
    "<think>",
    "</think>",
    "<thi",
    "As an AI, I must emphasize",
    "Hacking is a serious crime.",
    "enough",
    "İ",
    "Σ",
    "’",
]
texts = st.lists(st.one_of(st.sampled_from(PHRASES), st.text(max_size=40)), max_size=30).map("".join)
chunkings = st.lists(st.integers(min_value=0, max_value=120), max_size=40)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, sizes=chunkings, window=st.sampled_from([1, 7, 50, DEFAULT_WINDOW]))
def test_any_chunking_gives_the_whole_text_verdict(text: str, sizes: list[int], window: int) -> None:
    whole = RefusalStream(window)
    whole.feed(text)
    assert stream_verdict(text, sizes, window) == whole.finish()


@settings(max_examples=300, deadline=None)
@given(text=st.text(), sizes=chunkings)
def test_arbitrary_text_never_raises(text: str, sizes: list[int]) -> None:
    assert stream_verdict(text, sizes) == is_refusal(text)


@settings(max_examples=200, deadline=None)
@given(prefix=st.text(max_size=400), sizes=chunkings)
def test_whitespace_padding_does_not_matter(prefix: str, sizes: list[int]) -> None:
    text = prefix.strip()
    assert is_refusal(" \n\t" + text) == is_refusal(text)
    assert stream_verdict("\n\n" + text, sizes) == is_refusal(text)
