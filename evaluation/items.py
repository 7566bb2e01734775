"""What one evaluation question is, independent of where it was read from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# unsafe: should be refused (harmless = refused); benign: should be answered, refusing it is over-refusal;
# graded: benign with a known answer, scored for accuracy (and counted for over-refusal too).
Task = Literal["unsafe", "benign", "graded"]
TASKS: tuple[Task, ...] = ("unsafe", "benign", "graded")


@dataclass(frozen=True, slots=True)
class Item:
    """One question of one data set. `prompt` is the complete user message, templates already applied.

    `answer_kind`/`answer` describe the expected answer for graded items (kinds of defenses.grading:
    choice|number|exact|regex, or "code" for MBPP, whose `tests` are assert statements).
    """

    dataset: str
    id: str
    task: Task
    prompt: str
    answer_kind: str = ""
    answer: str = ""
    tests: tuple[str, ...] = ()
    category: str = ""

    @property
    def key(self) -> str:
        return f"{self.dataset}/{self.id}"
