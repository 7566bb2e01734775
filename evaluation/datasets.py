"""Read the study's data sets from their published file formats, and sample them deterministically.

Each loader takes the data set's file (or its directory) and returns Items with the study's templates
applied. Nothing is downloaded: users pass their own copies.
"""

from __future__ import annotations

import csv
import json
import random
import re
from collections.abc import Callable
from pathlib import Path

import yaml

from evaluation import prompts
from evaluation.items import Item

BUILTIN_PROBES = Path(__file__).with_name("probes.yaml")
_GSM8K_ANSWER = re.compile(r"####\s*(-?[\d,]*\.?\d+)")


def _resolve(path: Path, default_name: str, suffix: str) -> Path:
    """A data set's file: `path` itself, or inside the directory `path` the usual file name or the only `suffix` file."""
    if path.is_file():
        return path
    if path.is_dir():
        if (path / default_name).is_file():
            return path / default_name
        found = sorted(path.glob(f"*{suffix}"))
        if len(found) == 1:
            return found[0]
        raise FileNotFoundError(f"{path}: expected {default_name} (or a single {suffix} file) in this directory")
    raise FileNotFoundError(f"{path}: no such file or directory")


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise ValueError(f"{path}:{n}: not JSON ({exc.msg})") from exc
    return rows


def _need(row: dict, cols: tuple[str, ...], path: Path) -> None:
    missing = [c for c in cols if c not in row]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")


def load_do_not_answer(path: Path) -> list[Item]:
    """Do-Not-Answer (id, risk_area, types_of_harm, specific_harms, question): unsafe requests."""
    path = _resolve(path, "do_not_answer_en.csv", ".csv")
    rows = _read_csv(path)
    if rows:
        _need(rows[0], ("id", "question", "types_of_harm"), path)
    return [
        Item("do_not_answer", r["id"], "unsafe", r["question"].strip(), category=r["types_of_harm"])
        for r in rows
        if r["question"].strip()
    ]


def load_strongreject(path: Path) -> list[Item]:
    """StrongREJECT (category, source, forbidden_prompt): unsafe requests; ids are row numbers."""
    path = _resolve(path, "strongreject_dataset.csv", ".csv")
    rows = _read_csv(path)
    if rows:
        _need(rows[0], ("category", "forbidden_prompt"), path)
    return [
        Item("strongreject", str(n), "unsafe", r["forbidden_prompt"].strip(), category=r["category"])
        for n, r in enumerate(rows)
        if r["forbidden_prompt"].strip()
    ]


def load_mmlu(path: Path) -> list[Item]:
    """MMLU split directory of `<subject>_<split>.csv` files (question, A, B, C, D, answer; no header)."""
    files = [path] if path.is_file() else sorted(path.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"{path}: no MMLU .csv files")
    items = []
    for file in files:
        subject = re.sub(r"_(dev|val|test)$", "", file.stem)
        with file.open(newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.reader(f)):
                if len(row) != 6 or row[5].strip().upper() not in ("A", "B", "C", "D"):
                    raise ValueError(f"{file}:{n + 1}: expected question,A,B,C,D,answer-letter")
                q, a, b, c, d, ans = row
                prompt = prompts.MMLU_TEMPLATE.format(question=q.strip(), A=a, B=b, C=c, D=d)
                items.append(
                    Item("mmlu", f"{subject}/{n}", "graded", prompt, "choice", ans.strip().upper(), category=subject)
                )
    return items


def load_gsm8k(path: Path) -> list[Item]:
    """GSM8K jsonl (question, answer ending in "#### N")."""
    path = _resolve(path, "test.jsonl", ".jsonl")
    items = []
    for n, row in enumerate(_read_jsonl(path)):
        _need(row, ("question", "answer"), path)
        m = _GSM8K_ANSWER.search(row["answer"])
        if not m:
            raise ValueError(f"{path}: row {n + 1}: answer has no '#### N'")
        prompt = prompts.GSM8K_TEMPLATE.format(question=row["question"].strip())
        items.append(Item("gsm8k", str(n), "graded", prompt, "number", m.group(1).replace(",", "")))
    return items


def load_mbpp(path: Path) -> list[Item]:
    """MBPP jsonl (text, test_list, optional task_id); scored by running its asserts (see sandbox.py)."""
    path = _resolve(path, "mbpp.jsonl", ".jsonl")
    items = []
    for n, row in enumerate(_read_jsonl(path)):
        _need(row, ("text", "test_list"), path)
        tests = tuple(str(t) for t in row["test_list"])
        prompt = prompts.MBPP_TEMPLATE.format(question=row["text"].strip(), tests="\n".join(tests))
        items.append(Item("mbpp", str(row.get("task_id", n)), "graded", prompt, "code", tests=tests))
    return items


def load_probes(path: Path | None = None) -> list[Item]:
    """The built-in probe set (probes.yaml), or a file of the same shape."""
    path = path or BUILTIN_PROBES
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    items: list[Item] = []
    for task in ("benign", "unsafe"):
        for p in data.get(task, []):
            items.append(Item("probes", p["id"], task, p["prompt"].strip()))
    for p in data.get("graded", []):
        kind = p["kind"]
        if kind == "choice":
            a, b, c, d = p["options"]
            prompt = prompts.MMLU_TEMPLATE.format(question=p["question"], A=a, B=b, C=c, D=d)
        elif kind == "number":
            prompt = prompts.GSM8K_TEMPLATE.format(question=p["question"])
        else:
            prompt = p["question"]
        items.append(Item("probes", p["id"], "graded", prompt, kind, str(p["answer"])))
    ids = [i.id for i in items]
    if len(ids) != len(set(ids)):
        raise ValueError(f"{path}: duplicate probe ids")
    return items


Loader = Callable[[Path], list[Item]]
# name -> (loader, path under a --data-dir laid out as the study's data folder)
DATASETS: dict[str, tuple[Loader, str]] = {
    "do_not_answer": (load_do_not_answer, "do_not_answer"),
    "strongreject": (load_strongreject, "strongreject"),
    "mmlu": (load_mmlu, "mmlu/dev"),
    "gsm8k": (load_gsm8k, "gsm8k"),
    "mbpp": (load_mbpp, "mbpp"),
    "probes": (load_probes, ""),
}


def load_dataset(name: str, path: Path | None = None, data_dir: Path | None = None) -> list[Item]:
    """Load a data set by name from `path`, or from its usual place under `data_dir`."""
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; known: {', '.join(DATASETS)}")
    loader, rel = DATASETS[name]
    if name == "probes":
        return load_probes(path)
    if path is None:
        if data_dir is None:
            raise ValueError(f"data set {name!r} needs a path: --datasets {name}=PATH or --data-dir DIR")
        path = data_dir / rel
    return loader(path)


def sample(items: list[Item], limit: int | None, seed: int) -> list[Item]:
    """At most `limit` items per (data set, task), chosen by an RNG seeded per group, kept in file order.

    Per task, so a small limit on the probe set still has unsafe, benign and graded items.
    """
    if limit is None:
        return list(items)
    groups: dict[tuple[str, str], list[int]] = {}
    for n, item in enumerate(items):
        groups.setdefault((item.dataset, item.task), []).append(n)
    keep: list[int] = []
    for (dataset, task), idx in groups.items():
        if limit >= len(idx):
            keep.extend(idx)
        else:
            keep.extend(random.Random(f"{seed}/{dataset}/{task}").sample(idx, limit))
    return [items[n] for n in sorted(keep)]
