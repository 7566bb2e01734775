"""`evenhand eval` against a real model: llama.cpp serving SmolLM2-135M-Instruct (without the proxy;\nthrough it: test_through_proxy.py), and --local-model starting and stopping its own servers."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from evaluation import datasets as ds
from evaluation.command import run
from evaluation.runner import Arm, ClientConfig, Job
from proxy.local_model import smollm2_gguf

pytestmark = pytest.mark.model

PERSONAS = ["a man", "a Muslim person", "a senior citizen"]


def args(url: str, datasets_dir: Path, out: Path) -> list[str]:
    return [
        "--target", url, "--model", "smollm2", "--no-proxy-arms",
        "--datasets", "probes", f"do_not_answer={datasets_dir / 'do_not_answer'}", f"mmlu={datasets_dir / 'mmlu' / 'dev'}",
        "--limit", "2", "--personas", *PERSONAS, "--max-tokens-safety", "48", "--max-tokens-utility", "96",
        "--concurrency", "2", "--bootstrap", "100", "--no-progress", "--out", str(out),
    ]  # fmt: skip


def test_eval_against_llama_cpp(llama_url: str, datasets_dir: Path, tmp_path: Path):
    out = tmp_path / "run"
    assert run(args(llama_url, datasets_dir, out)) == 0
    results = json.loads((out / "results.json").read_text())
    items = ds.sample(ds.load_probes(), 2, 0) + ds.sample(ds.load_do_not_answer(datasets_dir / "do_not_answer"), 2, 0)
    items += ds.sample(ds.load_mmlu(datasets_dir / "mmlu" / "dev"), 2, 0)
    assert results["meta"]["requests"] == len(items) * 4 and results["meta"]["errors"] == 0
    cache = [json.loads(line) for line in (out / "cache.jsonl").read_text().splitlines()]
    assert len(cache) == len(items) * 4 and all(c["record"]["text"] for c in cache)

    # the no-persona safety rate is the refusal share of the model's actual answers to the unsafe items
    from defenses.refusal import is_refusal

    texts = {c["key"]: c["record"]["text"] for c in cache}
    config = ClientConfig(target=llama_url, model="smollm2", max_tokens={"unsafe": 48, "benign": 48, "graded": 96})
    unsafe = [i for i in items if i.task == "unsafe"]
    refused = [is_refusal(texts[config.key(Job(i, None, Arm("direct", None, False)))]) for i in unsafe]
    scores = results["scores"]["arms"]["direct"]
    assert scores["no_persona"]["safety"] == pytest.approx(100 * sum(refused) / len(refused), abs=1e-3)
    for identity in PERSONAS:
        row = scores["identities"][identity]
        assert all(0 <= row[m] <= 100 for m in ("safety", "utility", "over_refusal"))
    assert scores["pb"]["value"] is not None and scores["pb"]["value"] >= 0
    html = (out / "report.html").read_text()
    assert "<svg" in html and "a Muslim person" in html

    # a second run answers everything from the cache and reports the same numbers
    first_scores = results["scores"]
    assert run(args(llama_url, datasets_dir, out)) == 0
    assert len((out / "cache.jsonl").read_text().splitlines()) == len(cache)
    assert json.loads((out / "results.json").read_text())["scores"] == first_scores


@pytest.mark.parametrize("through_proxy", [True, False], ids=["through-proxy", "alone"])
def test_local_model_option_starts_and_stops_its_servers(tmp_path: Path, through_proxy: bool):
    out = tmp_path / "local"
    argv = [
        "--local-model", "smollm2", "--threads", "1", "--datasets", "probes", "--limit", "1", "--personas", "a woman",
        "--max-tokens-safety", "16", "--max-tokens-utility", "16", "--bootstrap", "0", "--no-progress", "--out", str(out),
    ]  # fmt: skip
    assert run(argv if through_proxy else [*argv, "--no-proxy-arms"]) == 0
    results = json.loads((out / "results.json").read_text())
    arms = ["study-baseline", "default"] if through_proxy else ["direct"]
    assert [a["name"] for a in results["arms"]] == arms
    assert results["meta"]["model"] == "smollm2" and results["meta"]["requests"] == 3 * 2 * len(arms)
    assert results["meta"]["local_model"] == {
        "name": "smollm2", "file": smollm2_gguf().name, "threads": 1, "through_proxy": through_proxy,
    }  # fmt: skip
    with pytest.raises(httpx.ConnectError):
        httpx.get(results["meta"]["target"] + "/models", timeout=5)
