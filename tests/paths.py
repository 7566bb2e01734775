"""Where the tests find the repository and the shared data sets (`../shared`, or $EVENHAND_SHARED)."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("EVENHAND_SHARED", REPO.parent / "shared")).resolve()
