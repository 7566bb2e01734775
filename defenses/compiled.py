"""Whether the detector's modules run compiled, and a guard against stale compiled modules.

`make compile` (or a wheel built with EVENHAND_COMPILE=1, see setup.py) puts a C extension beside
each hot-path module, and Python imports an extension before the source of the same name. An
extension built from an older source would silently run the old code, so the build records a hash of
each source it compiled, and importing `defenses` fails with instructions when one has changed since.
"""

from __future__ import annotations

import hashlib
import json
from importlib.machinery import EXTENSION_SUFFIXES
from pathlib import Path

RECORD_NAME = "_compiled_from.json"
_HERE = Path(__file__).resolve().parent


def compiled_modules(package: Path = _HERE) -> list[str]:
    """The modules of `package` that have a compiled extension beside their source."""
    record = package / RECORD_NAME
    if not record.exists():
        return []
    return sorted(name for name in json.loads(record.read_text()) if _extension(package, name) is not None)


def check_compiled(package: Path = _HERE) -> None:
    """Raise ImportError if a compiled module's source changed after it was compiled."""
    record = package / RECORD_NAME
    if not record.exists():
        return
    digests: dict[str, str] = json.loads(record.read_text())
    stale = [
        name for name, digest in sorted(digests.items())
        if _extension(package, name) is not None and (package / f"{name}.py").exists()
        and hashlib.sha256((package / f"{name}.py").read_bytes()).hexdigest() != digest
    ]
    if stale:
        raise ImportError(
            f"compiled modules are older than their sources: {', '.join(f'{package.name}/{n}.py' for n in stale)}. "
            "Run `make compile` to compile them again, or `make clean-compiled` to run from the sources."
        )


def _extension(package: Path, name: str) -> Path | None:
    for suffix in EXTENSION_SUFFIXES:
        path = package / f"{name}{suffix}"
        if path.exists():
            return path
    return None
