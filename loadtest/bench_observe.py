"""Cost per response of observing it: refusal detection (whole and streamed) and grading.

Responses are the labelled refusal set's texts grown to 1-2 KB with compliant prose, the size of a
typical chat answer. The stream is fed in 16 chunks (a proxy relaying coarse SSE events) and in
4-character deltas (token by token); every chunk is fed, as a proxy would, even after the verdict.
Then the worst case over adversarial 8 KB responses (blank runs, repeated key words), best of 5.

    cd /work/main && python -m loadtest.bench_observe [--rounds 20]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from defenses.grading import Expected, grade
from defenses.refusal import RefusalStream, is_refusal

SET = Path(__file__).resolve().parents[1] / "tests" / "defenses" / "refusal_set.jsonl"

PROSE = [
    "The key idea is to break the problem into smaller steps and check each one before moving on.",
    "In practice, most people find that a consistent routine matters more than any single technique.",
    "For example, if you measure the result every week, you will notice trends long before they become problems.",
    "Keep in mind that the numbers vary by region, so treat these figures as a rough guide rather than a rule.",
    "Here is a short summary of the main points, followed by a few suggestions for further reading.",
    "First, gather everything you need. Second, follow the steps in order. Third, review the outcome.",
    "Many sources disagree on the details, but the overall picture has been stable for decades.",
    "If anything is unclear, feel free to ask a follow-up question and I will go into more detail.",
]


def responses(count: int, rng: random.Random) -> list[str]:
    texts = [json.loads(line)["text"] for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for i in range(count):
        text = texts[i % len(texts)]
        target = rng.randint(1024, 2048)
        while len(text) < target:
            text += "\n\n" + " ".join(rng.sample(PROSE, 4))
        out.append(text[:target])
    return out


def chunks(text: str, n: int) -> list[str]:
    size = -(-len(text) // n)
    return [text[i : i + size] for i in range(0, len(text), size)]


def measure(label: str, items: list, run: Callable[[object], object], rounds: int) -> None:
    samples: list[int] = []
    for item in items[:200]:  # warm-up
        run(item)
    for _ in range(rounds):
        for item in items:
            start = time.perf_counter_ns()
            run(item)
            samples.append(time.perf_counter_ns() - start)
    samples.sort()
    p50 = samples[len(samples) // 2] / 1000
    p99 = samples[int(len(samples) * 0.99)] / 1000
    mean = statistics.fmean(samples) / 1000
    print(f"{label:<40} p50 {p50:7.1f} us   p99 {p99:7.1f} us   mean {mean:7.1f} us   (n={len(samples)})")


def stream_all(parts: list[str]) -> bool:
    stream = RefusalStream()
    for part in parts:
        stream.feed(part)
    return stream.finish()


def adversarial() -> list[str]:
    n = 8192
    return [
        " " * n, "\n" * n, "answer is" + " " * n + "x", "answer is " + "*" * n, "answer " * (n // 7),
        "#### " * (n // 5), "1," * (n // 2), "(A) " * (n // 4), "A.\n" * (n // 3), "answer is (" * (n // 11),
        "i " * (n // 2), "i can't " * (n // 8), ("ich " * 30 + "nicht ") * 20, "je ne peux pas " * 500,
        "no puedo " * 900, "x" * n, "i" + " " * 400 + "can't help", "<think>" + "a" * n,
    ]


def worst(label: str, run: Callable[[str], object], texts: list[str]) -> None:
    def best_of_5(text: str) -> float:
        times = []
        for _ in range(5):
            start = time.perf_counter_ns()
            run(text)
            times.append(time.perf_counter_ns() - start)
        return min(times) / 1000

    cost, text = max((best_of_5(t), t) for t in texts)
    print(f"{label:<40} worst {cost:8.1f} us   on {text[:24]!r}...")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--responses", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(7)
    texts = responses(args.responses, rng)
    sizes = [len(t) for t in texts]
    refusals = sum(map(is_refusal, texts))
    print(f"{len(texts)} responses, {min(sizes)}-{max(sizes)} chars (mean {statistics.fmean(sizes):.0f}), {refusals} refusals")

    measure("is_refusal(text)", texts, is_refusal, args.rounds)
    measure("RefusalStream, 16 chunks", [chunks(t, 16) for t in texts], stream_all, args.rounds)
    measure("RefusalStream, 4-char deltas", [chunks(t, len(t) // 4) for t in texts], stream_all, max(1, args.rounds // 4))

    work = [t.rsplit("\n\n", 1)[0] for t in texts]
    graded = [
        ("grade choice (MMLU)", Expected.parse("choice=B"), "\n\nTherefore, the answer is (B)."),
        ("grade number (GSM8K)", Expected.parse("number=1234"), "\n\n9 * 2 = 18 per day.\nTherefore, the answer is $1,234."),
        ("grade exact", Expected.parse("exact=Canberra"), "\n\nAnswer: Canberra."),
        ("grade regex", Expected.parse(r"regex=(?i)\bcanberra\b"), "\n\nThe capital is Canberra."),
    ]
    for label, expected, ending in graded:
        items = [(w + ending, expected) for w in work]
        measure(label, items, lambda item: grade(*item), args.rounds)  # type: ignore[misc]

    hostile = adversarial()
    worst("adversarial: is_refusal", is_refusal, hostile)
    worst("adversarial: RefusalStream, 4-char", lambda t: stream_all(chunks(t, len(t) // 4)), hostile)
    for _, expected, _ in graded:
        worst(f"adversarial: grade {expected.kind}", lambda t, e=expected: grade(t, e), hostile)


if __name__ == "__main__":
    main()
