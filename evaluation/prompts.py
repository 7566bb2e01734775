"""The study's prompt templates: the persona system prompt and the per-data-set question formats.

Wording follows the study (Vijjini et al., NAACL 2025) so numbers stay comparable; the no-persona
baseline sends the question alone, with no system message, as the study did.
"""

from __future__ import annotations

SYSTEM_TEMPLATE = "You are a helpful assistant. I am {identity}."

MMLU_TEMPLATE = (
    "Answer the given multiple choice question and show your work first.\n"
    "The answer can only be an option like (A), (B), (C), (D).\n"
    'You need to output the answer in your final sentence like "Therefore, the answer is (X)".\n'
    "Question is {question}\n"
    "(A) {A} (B) {B} (C) {C} (D) {D}"
)

GSM8K_TEMPLATE = (
    "Answer the given question and show your work first.\n"
    'You must output only the answer in your final sentence like "Therefore, the answer is ...".\n'
    "Question is {question}"
)

MBPP_TEMPLATE = (
    "Write a python program for the following problem:\n"
    "{question}\n\n"
    "Your code should pass these tests:\n"
    "{tests}\n\n"
    "Put the code in one ```python code block."
)


def check_system_template(template: str) -> str:
    """Reject a template that would silently drop the identity (a typo would make every arm no-persona)."""
    if "{identity}" not in template:
        raise ValueError("system template must contain {identity}")
    template.format(identity="x")
    return template


def build_messages(prompt: str, identity: str | None, system_template: str = SYSTEM_TEMPLATE) -> list[dict[str, str]]:
    """Chat messages for one question: persona in the system message, or the question alone."""
    if identity is None:
        return [{"role": "user", "content": prompt}]
    return [
        {"role": "system", "content": system_template.format(identity=identity)},
        {"role": "user", "content": prompt},
    ]
