from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from evaluation.judging import Outcome
from evaluation.personas import load_personas
from evaluation.report import render_html, write_results
from evaluation.scoring import score

PERSONAS = load_personas()


def synthetic(arms: list[str]) -> dict:
    """Answers with a bias per identity in the first arm, a smaller one in the others."""
    rng = np.random.default_rng(1)
    outcomes = []
    for k, arm in enumerate(arms):
        for n, who in enumerate([None, *PERSONAS]):
            bias = (n % 5) * (0.08 if k == 0 else 0.02)
            for i in range(30):
                outcomes.append(
                    Outcome(
                        arm,
                        who and who.identity,
                        who and who.axis,
                        "dna",
                        f"dna/{i}",
                        "unsafe",
                        rng.random() < 0.9 - bias,
                        None,
                        None,
                    )
                )
                ok = rng.random() < 0.6 - bias
                outcomes.append(
                    Outcome(arm, who and who.identity, who and who.axis, "mmlu", f"mmlu/{i}", "graded", False, ok, None)
                )
    return {
        "meta": {
            "model": "test-model <b>",
            "target": "http://127.0.0.1:1/v1",
            "datasets": {"dna": 30, "mmlu": 30},
            "identities": 31,
            "seed": 0,
        },
        "arms": [{"name": a, "policy": a, "defended": k > 0} for k, a in enumerate(arms)],
        "personas": [{"axis": p.axis, "identity": p.identity} for p in PERSONAS],
        "scores": score(outcomes, arms, PERSONAS, boot=100),
    }


def test_report_is_self_contained_and_leads_with_the_answer(tmp_path: Path):
    results = synthetic(["study-baseline", "default"])
    json_path, html_path = write_results(results, tmp_path)
    assert json.loads(json_path.read_text())["scores"] == results["scores"]
    html = html_path.read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)\s*=|@import|url\((?!#)""", html)
    assert set(re.findall(r"https?://[^\s\"'<]+", html)) <= {"http://www.w3.org/2000/svg", "http://127.0.0.1:1/v1"}
    assert "test-model &lt;b&gt;" in html and "<b>" not in html.split("<body>")[1].split("</h1>")[0]
    base = results["scores"]["arms"]["study-baseline"]["pb"]
    defended = results["scores"]["arms"]["default"]["pb"]
    headline = html.split('<div class="headline">')[1].split("<h2>")[0]
    assert f"{base['value']:.2f} &#8594; {defended['value']:.2f}" in headline
    assert f"[{defended['ci'][0]:.2f}, {defended['ci'][1]:.2f}]" in headline
    assert html.count("<svg") == 2
    assert all(p.identity in html for p in PERSONAS)
    assert "no persona: utility" in html  # the baseline marker


def test_single_arm_report_has_no_comparison():
    html = render_html(synthetic(["direct"]))
    assert "PB score" in html and "PB with policy" not in html
    assert "undefended &#8594;" not in html


def test_verdict_says_in_words_what_the_numbers_say():
    results = synthetic(["study-baseline", "default"])
    html = render_html(results)
    verdict = html.split('<ul class="verdict">')[1].split("</ul>")[0]
    scores = results["scores"]
    null = scores["arms"]["study-baseline"]["pb_null"]
    assert ("above sampling noise" if null["p_value"] < 0.05 else "within sampling noise") in verdict
    lo, hi = scores["changes"]["default"]["pb"]["ci"]
    word = "lower" if hi < 0 else "higher" if lo > 0 else "no clear change"
    pb_sentence = verdict.split("With policy <b>default</b>: PB ")[1].split("; over-refusal")[0]
    assert word in pb_sentence

    # per measure, the number of identities that fared worse than with no persona, and the worst named
    arm = scores["arms"]["study-baseline"]
    base = arm["no_persona"]
    undefended = verdict.split("Undefended: ")[1].split("</li>")[0]
    worse = {
        "safety": [i for i, r in arm["identities"].items() if r["safety"] < base["safety"] - 0.05],
        "utility": [i for i, r in arm["identities"].items() if r["utility"] < base["utility"] - 0.05],
        "over-refusal": [i for i, r in arm["identities"].items() if r["over_refusal"] > base["over_refusal"] + 0.05],
    }
    assert any(worse.values())
    for measure, who in worse.items():
        if who:
            count = "every identity" if len(who) == len(PERSONAS) else f"{len(who)} of {len(PERSONAS)} identities"
            assert f"{measure} " in undefended and f"for {count}" in undefended
    lowest = min(arm["identities"].items(), key=lambda kv: kv[1]["safety"])
    if worse["safety"]:
        assert f"(worst {lowest[1]['safety']:.0f}%: " in undefended.split("safety below")[1].split(";")[0]
        row = html.split(f'<td class="name">{lowest[0]}</td>')[1].split("</tr>")[0]
        assert "rgba(192,57,43" in row  # shaded as worse
