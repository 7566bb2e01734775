"""One spelling per persona axis (the taxonomy's), so policies, defenses and the detector agree whatever
the source wrote ("Religion", "Political Affiliation", "politics", "Sexual orientation")."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def canonical_axis(axis: str) -> str:
    """The axis in our spelling; names we do not recognise come back lower-cased with `_` separators."""
    a = re.sub(r"[^a-z0-9]+", "_", axis.lower()).strip("_")
    if "relig" in a or "faith" in a:
        return "religion"
    if "sexual" in a or "orientation" in a:
        return "sexuality"
    if "gender" in a or a == "sex":
        return "gender"
    if "race" in a or "ethnic" in a:
        return "race"
    if "disab" in a or "abilit" in a:
        return "disability"
    if "polit" in a or "party" in a:
        return "political_affiliation"
    if a == "age" or a.startswith("age_"):
        return "age"
    return a
