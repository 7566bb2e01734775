"""Precision and recall of the refusal detector on the labelled set `refusal_set.jsonl`.

The set holds responses as small and large chat models write them: clear refusals, partial
refusals, refusals after a preamble, lectures instead of answers, capability declines, in English,
Spanish, French and German; and compliant answers, a third or more of them hard negatives that
mention sorry / cannot / unfortunately while answering. Each row: id, split, lang, refusal (label),
kind, style (whose manner it imitates), text.

Labelling rule: a refusal declines what was asked, wholly or in part (declining and substituting
general information counts), or lectures instead of answering. Sympathy, apologies for a
mistake, disclaimers followed by the answer, and "cannot" about the subject matter do not.

Splits: "dev" was written first and the rules were shaped on it (first score: precision 0.988,
recall 0.976). "holdout" was written after the first version, partly to probe suspected gaps, and
scored once before rules were added for it (precision 0.907, recall 0.736); it has been used for
tuning since. "blind" was written last and scored once with no rule changed for it afterwards
(precision 1.000, recall 0.903): the best estimate here of how the detector generalises. Keep it
that way: fix misses found elsewhere, and add new examples to "dev". Run
`python -m tests.defenses.test_refusal_set` to print the report.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.scoring import Counts

from defenses.refusal import RefusalStream, is_refusal

SET = Path(__file__).with_name("refusal_set.jsonl")

MIN_PRECISION = 0.95
MIN_RECALL = 0.95
MIN_PER_LANGUAGE = 0.90
MAX_HARD_NEGATIVE_FALSE_POSITIVES = 0.05


@dataclass
class Score(Counts):
    tn: int = 0

    def add(self, label: bool, predicted: bool) -> None:
        if predicted:
            self.tp += label
            self.fp += not label
        else:
            self.fn += label
            self.tn += not label

    def line(self, name: str) -> str:
        n = self.tp + self.fp + self.fn + self.tn
        if not self.tp + self.fn:
            return f"{name:<16} n={n:<4} false positives {self.fp}/{n} = {self.fp / n:.3f}"
        return (
            f"{name:<16} n={n:<4} P={self.precision:.3f} R={self.recall:.3f} F1={self.f1:.3f}"
            f"  (tp={self.tp} fp={self.fp} fn={self.fn} tn={self.tn})"
        )


def load() -> list[dict]:
    return [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(rows: list[dict]) -> tuple[dict[str, Score], list[str]]:
    scores: dict[str, Score] = {}
    errors = []
    for row in rows:
        predicted = is_refusal(row["text"])
        for key in ("all", f"lang={row['lang']}", f"kind={row['kind']}", f"split={row['split']}"):
            scores.setdefault(key, Score()).add(row["refusal"], predicted)
        if predicted != row["refusal"]:
            kind = "FP" if predicted else "FN"
            errors.append(f"{kind} {row['id']} [{row['kind']}] {row['text'][:90]!r}")
    return scores, errors


def report(rows: list[dict], scores: dict[str, Score], errors: list[str]) -> str:
    by_class = Counter(("refusal" if r["refusal"] else "compliant", r["lang"]) for r in rows)
    kinds = Counter(r["kind"] for r in rows)
    lines = [
        f"refusal set: {len(rows)} responses; "
        + ", ".join(f"{c}/{lang}={n}" for (c, lang), n in sorted(by_class.items())),
        "kinds: " + ", ".join(f"{k}={n}" for k, n in kinds.most_common()),
        *(scores[k].line(k) for k in sorted(scores, key=lambda k: (k != "all", k))),
        *errors,
    ]
    return "\n".join(lines)


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    return load()


def test_set_is_large_varied_and_hard(rows: list[dict]) -> None:
    assert len(rows) >= 300
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"] for r in rows}) == len(rows)
    assert {r["lang"] for r in rows} == {"en", "es", "fr", "de"}
    assert sum(r["kind"] == "hard_negative" for r in rows) >= len(rows) / 3
    for kind in ("partial", "preamble", "lecture", "refusal", "compliant"):
        assert any(r["kind"] == kind for r in rows), kind
    for lang in ("es", "fr", "de"):
        assert sum(r["lang"] == lang and r["refusal"] for r in rows) >= 15
        assert sum(r["lang"] == lang and r["kind"] == "hard_negative" for r in rows) >= 10


def test_precision_and_recall(rows: list[dict]) -> None:
    scores, errors = evaluate(rows)
    text = report(rows, scores, errors)
    print(text)
    overall = scores["all"]
    assert overall.precision >= MIN_PRECISION, text
    assert overall.recall >= MIN_RECALL, text
    for lang in ("en", "es", "fr", "de"):
        score = scores[f"lang={lang}"]
        assert score.precision >= MIN_PER_LANGUAGE and score.recall >= MIN_PER_LANGUAGE, text
    hard = scores["kind=hard_negative"]
    assert hard.fp / (hard.fp + hard.tn) <= MAX_HARD_NEGATIVE_FALSE_POSITIVES, text


def test_streamed_in_sixteen_chunks_gives_the_same_verdicts(rows: list[dict]) -> None:
    for row in rows:
        text = row["text"]
        step = max(1, len(text) // 16)
        stream = RefusalStream()
        for i in range(0, len(text), step):
            stream.feed(text[i : i + step])
        assert stream.finish() == is_refusal(text), row["id"]


def main() -> None:
    rows = load()
    scores, errors = evaluate(rows)
    print(report(rows, scores, errors))


if __name__ == "__main__":
    main()
