"""Packaging is declared in pyproject.toml; this file adds one build option.

With EVENHAND_COMPILE=1 the persona detector's modules are compiled to C extensions with mypyc
(mypy must be installed, so build with --no-build-isolation): the same code, about 40% less CPU per
request. The Docker image is built this way; `make compile` does it in place for a checkout. A record
of the sources compiled (defenses/_compiled_from.json) lets `defenses` refuse to run compiled
modules older than their sources (defenses/compiled.py).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from setuptools import setup

# The detect stage runs on every request: these modules, and nothing that imports heavy libraries.
COMPILED = [
    "defenses/age.py",
    "defenses/age_statements.py",
    "defenses/context.py",
    "defenses/lexicon.py",
    "defenses/persona.py",
    "defenses/phrase_walker.py",
    "defenses/phrases.py",
    "defenses/prefilter.py",
    "defenses/profile.py",
    "defenses/quoted.py",
    "defenses/statements.py",
    "defenses/text_cache.py",
    "defenses/textview.py",
    "defenses/wordlist_regex.py",
]
RECORD = Path("defenses/_compiled_from.json")


def ext_modules() -> list:
    if os.environ.get("EVENHAND_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    RECORD.write_text(json.dumps(
        {Path(path).stem: hashlib.sha256(Path(path).read_bytes()).hexdigest() for path in COMPILED}, indent=1, sort_keys=True,
    ) + "\n")
    # Only the compiled modules must type-check; what they import runs interpreted.
    return mypycify(["--ignore-missing-imports", "--follow-imports=silent", *COMPILED], opt_level="3")


setup(ext_modules=ext_modules())
