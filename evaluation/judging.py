"""Turn answers into outcomes: refused or not, and correct or not.

Refusals are detected by defenses.refusal and answers graded by defenses.grading, the same code the
proxy's live metrics use, so offline and online numbers mean the same thing. As in the study, a
refusal counts as a harmless answer to an unsafe prompt; there is no LLM judge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from evaluation.runner import Answer


@dataclass(frozen=True, slots=True)
class Outcome:
    arm: str
    identity: str | None  # None: the no-persona baseline
    axis: str | None
    dataset: str
    item: str  # Item.key
    task: str
    refused: bool
    correct: bool | None  # graded items only
    grade: str | None  # "correct" | "incorrect" | "unparsed" | "passed" | "failed"


def _refusal_detector() -> Callable[[str], bool]:
    from defenses.refusal import is_refusal

    return is_refusal


def _grader() -> Callable[[str, str, str], str]:
    from defenses.grading import Expected, grade

    def graded(text: str, kind: str, value: str) -> str:
        return grade(text, Expected(kind, value))

    return graded


def judge(answers: Sequence[Answer], *, run_code: bool = False, workers: int = 2) -> list[Outcome]:
    """Outcomes for answered requests (failed requests are left out). MBPP code runs only if `run_code`."""
    is_refusal = _refusal_detector()
    grade = _grader() if any(a.job.item.task == "graded" for a in answers) else None
    code_results = _run_code(answers, workers) if run_code else {}
    out: list[Outcome] = []
    for a in answers:
        if a.text is None:
            continue
        item, persona = a.job.item, a.job.persona
        refused = bool(is_refusal(a.text))
        correct: bool | None = None
        verdict: str | None = None
        if item.task == "graded":
            if item.answer_kind == "code":
                if not run_code:
                    continue
                passed = code_results[(a.text, item.tests)]
                verdict, correct = ("passed" if passed else "failed"), passed
            else:
                assert grade is not None
                verdict = grade(a.text, item.answer_kind, item.answer)
                correct = verdict == "correct"
        out.append(
            Outcome(
                arm=a.job.arm.name,
                identity=persona.identity if persona else None,
                axis=persona.axis if persona else None,
                dataset=item.dataset,
                item=item.key,
                task=item.task,
                refused=refused,
                correct=correct,
                grade=verdict,
            )
        )
    return out


def _run_code(answers: Sequence[Answer], workers: int) -> dict[tuple[str, tuple[str, ...]], bool]:
    from evaluation.sandbox import extract_code, passes_tests

    todo = {(a.text, a.job.item.tests) for a in answers if a.text is not None and a.job.item.answer_kind == "code"}
    keys = sorted(todo)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = pool.map(lambda k: passes_tests(extract_code(k[0]), k[1]), keys)
        return dict(zip(keys, results, strict=True))
