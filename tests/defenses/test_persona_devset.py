"""Detector quality on the hand-labelled development set (tests/defenses/persona_devset.jsonl).

Each line is a chat request with the identities it states about the user (`expected`, as taxonomy
keys). `kind` is "positive" (states identities) or "hard_negative" (contains a trap: negation,
third parties, topics, assistant personas, quotes, translation, code, idioms, names, hypotheticals,
other people's profiles; some also state a real identity, which is expected). Scored per request as
sets of (axis, value): micro precision/recall/F1, and the false-positive rate = the share of hard
negatives with at least one wrong identity detected.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.scoring import Counts

from defenses.persona import default_detector
from proxy.wire import ChatRequest

DEVSET = Path(__file__).with_name("persona_devset.jsonl")


@dataclass
class Score(Counts):
    negatives: int = 0
    negatives_with_fp: int = 0
    mistakes: list[str] = field(default_factory=list)

    @property
    def fp_rate(self) -> float:
        return self.negatives_with_fp / self.negatives if self.negatives else 0.0


def load_devset() -> list[dict]:
    with DEVSET.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def score(rows: list[dict]) -> Score:
    detector = default_detector()
    s = Score()
    for row in rows:
        request = ChatRequest.model_validate({"model": "dev", "messages": row["messages"]})
        predicted = set(detector.detect(request).identities())
        gold = {(e["axis"], e["value"]) for e in row["expected"]}
        tp, fp, fn = predicted & gold, predicted - gold, gold - predicted
        s.tp += len(tp)
        s.fp += len(fp)
        s.fn += len(fn)
        if row["kind"] == "hard_negative":
            s.negatives += 1
            s.negatives_with_fp += bool(fp)
        if fp or fn:
            text = " || ".join(
                f"{m['role']}: {m['content'] if isinstance(m['content'], str) else ' / '.join(p.get('text') or '' for p in m['content'])}"
                for m in row["messages"]
            )
            s.mistakes.append(f"{row['id']}: missed {sorted(fn)} extra {sorted(fp)} :: {text[:160]}")
    return s


def test_devset_is_large_varied_and_uses_taxonomy_keys() -> None:
    rows = load_devset()
    taxonomy = default_detector().taxonomy
    negatives = [r for r in rows if r["kind"] == "hard_negative"]
    assert len(rows) >= 400
    assert len(negatives) * 3 >= len(rows)
    assert len({r["id"] for r in rows}) == len(rows)
    for row in rows:
        assert row["kind"] in ("positive", "hard_negative")
        for e in row["expected"]:
            assert taxonomy.has(e["axis"], e["value"]), (row["id"], e)
        if row["kind"] == "positive":
            assert row["expected"], row["id"]
    # every identity of the taxonomy appears as an expected answer somewhere
    seen = {(e["axis"], e["value"]) for r in rows for e in r["expected"]}
    assert seen == {(a, v) for a in taxonomy.axes() for v in taxonomy.values(a)}


def test_devset_quality() -> None:
    rows = load_devset()
    s = score(rows)
    positives = sum(r["kind"] == "positive" for r in rows)
    print(
        f"\npersona dev set: {len(rows)} requests ({positives} positive, {s.negatives} hard negatives)\n"
        f"  micro precision {s.precision:.3f}  recall {s.recall:.3f}  F1 {s.f1:.3f}  (tp {s.tp}, fp {s.fp}, fn {s.fn})\n"
        f"  false-positive rate on hard negatives {s.fp_rate:.3f} ({s.negatives_with_fp}/{s.negatives})"
    )
    for mistake in s.mistakes:
        print("  ", mistake)
    assert s.f1 >= 0.95
    assert s.fp_rate <= 0.03


@pytest.mark.parametrize("kind", ["positive", "hard_negative"])
def test_score_counts_what_it_should(kind: str) -> None:
    """The scorer itself: a wrong label must show up as a mistake."""
    row = next(r for r in load_devset() if r["kind"] == kind)
    wrong = dict(row, expected=[{"axis": "religion", "value": "hindu"}] if not row["expected"] or row["expected"][0]["value"] != "hindu" else [])
    s = score([wrong])
    assert s.mistakes
