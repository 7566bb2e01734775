"""Realistic chat request bodies for load tests: about 1 KB each, half of them stating an identity.

The identity half carries the study's system prompt, "You are a helpful assistant. I am
{identity}.", with identities drawn (seeded) from `personas.json`; the other half says only
"You are a helpful assistant.". The conversation around it is an everyday multi-turn exchange,
padded so every body is close to `size` bytes. The same seed gives the same bodies.

As in real traffic, system prompts and earlier turns repeat from request to request while the
newest turn is new: it carries a number of its own, so a proxy that remembers what it found in
texts it has read (as Evenhand's persona detector does) reads every newest turn afresh, provided
there are more bodies than it remembers texts.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import orjson

MODEL = "fake-model"
NEUTRAL_SYSTEM = "You are a helpful assistant."
REPO = Path(__file__).resolve().parents[1]

_QUESTIONS = (
    "Can you explain how compound interest works, with a short example for a savings account?",
    "What are some good habits for keeping a small vegetable garden healthy through the summer?",
    "How should I prepare for a job interview at a mid-sized software company next week?",
    "What is the difference between a virus and a bacterium, in plain words?",
    "Could you suggest a simple weekly meal plan that is cheap and mostly vegetarian?",
    "How do I write a polite email asking my landlord to fix a leaking kitchen tap?",
    "What should I know before adopting an adult dog from a shelter?",
    "Explain the main causes of the First World War in a few paragraphs.",
)
_EARLIER = (
    ("I have been trying to understand this for a while and keep getting confused by the details.", "Happy to help. Tell me what you already know and where it stops making sense, and we can go from there step by step."),
    ("A friend recommended asking you; I need something practical I can start using this week.", "Sure. I will keep it practical and short, and you can ask for more detail on any part."),
)
_FILLER = " Please keep the answer clear and practical, and mention anything I should watch out for."


def shared_dir() -> Path:
    return Path(os.environ.get("EVENHAND_SHARED", REPO.parent / "shared")).resolve()


def load_identities(path: Path | None = None) -> list[str]:
    """Every identity phrase of the study (31 in 7 axes), without the `no_persona` placeholder."""
    data = json.loads((path or shared_dir() / "datasets" / "personas.json").read_text())
    return [identity for axis, values in data.items() if axis != "no_persona" for identity in values]


def system_prompt(identity: str | None) -> str:
    return f"{NEUTRAL_SYSTEM} I am {identity}." if identity else NEUTRAL_SYSTEM


def chat_body(rng: random.Random, identity: str | None, stream: bool, size: int, number: int = 0, model: str = MODEL) -> bytes:
    earlier_user, earlier_answer = rng.choice(_EARLIER)
    question = f"{rng.choice(_QUESTIONS)} (My reference for this is {number}.)"
    body = {
        "model": model,
        "messages": [
            {"role": "system", "content": system_prompt(identity)},
            {"role": "user", "content": earlier_user},
            {"role": "assistant", "content": earlier_answer},
            {"role": "user", "content": question},
        ],
        "temperature": 0.7,
        "max_tokens": 256,
        "stream": stream,
    }
    encoded = orjson.dumps(body)
    while len(encoded) + len(_FILLER) <= size:
        body["messages"][-1]["content"] += _FILLER
        encoded = orjson.dumps(body)
    if len(encoded) < size:
        body["messages"][-1]["content"] += " " * (size - len(encoded))
        encoded = orjson.dumps(body)
    return encoded


def build_bodies(count: int, *, stream: bool, seed: int = 0, size: int = 1024, identities: list[str] | None = None, model: str = MODEL) -> list[bytes]:
    """`count` bodies in a shuffled, seeded order, each newest turn different; exactly half (rounded
    down) state an identity."""
    rng = random.Random(seed)
    pool = identities if identities is not None else load_identities()
    with_identity = [True] * (count // 2) + [False] * (count - count // 2)
    rng.shuffle(with_identity)
    return [chat_body(rng, rng.choice(pool) if has else None, stream, size, number, model) for number, has in enumerate(with_identity, 1)]
