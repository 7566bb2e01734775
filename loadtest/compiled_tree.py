"""A copy of the checkout with the persona detector compiled with mypyc (setup.py, EVENHAND_COMPILE=1).

A copy, not the checkout itself: compiled modules beside the sources would shadow later edits (see
defenses/compiled.py). `make test-compiled` runs the detector's tests in it, and
`python -m loadtest.bench_detect --compiled` measures there.

    python -m loadtest.compiled_tree [DEST]      # default: build/compiled-tree
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "build" / "compiled-tree"


def build(dest: Path = DEFAULT, repo: Path = REPO) -> Path:
    """Copy the files git tracks or would track (not the ignored ones) to `dest`, then compile there."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=repo, check=True, capture_output=True,
    ).stdout.decode().split("\0")
    if dest.exists():
        shutil.rmtree(dest)
    for name in listed:
        source = repo / name
        if name and source.is_file():  # a file deleted but not yet committed is still listed
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    subprocess.run(
        [sys.executable, "setup.py", "--quiet", "build_ext", "--inplace"], cwd=dest, check=True,
        env={**os.environ, "EVENHAND_COMPILE": "1"},
    )
    return dest


def main() -> None:
    dest = Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else DEFAULT
    print(f"compiled detector in {build(dest)}")


if __name__ == "__main__":
    main()
