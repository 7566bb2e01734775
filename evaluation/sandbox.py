"""Run model-written MBPP code against its asserts in a separate, resource-limited Python process.

This limits the damage of careless code (CPU time, memory, file size, open files, wall time, no
stdin, an empty working directory and environment, the whole process group killed on timeout); it is
not a security boundary against hostile code, which is why `evenhand eval` runs it only when asked
(--run-generated-code).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

_FENCE = re.compile(r"```(?:python|py)?[ \t]*\n(.*?)```", re.DOTALL | re.IGNORECASE)
_MEMORY = 1 << 30
_FILE_SIZE = 10 << 20


def extract_code(text: str) -> str:
    """The first fenced code block (the study's rule), else the whole answer."""
    m = _FENCE.search(text)
    return m.group(1) if m else text


def _without_input(code: str) -> str:
    # The study commented out lines reading stdin so programs do not block on input().
    return "\n".join("# " + line if "input(" in line else line for line in code.split("\n"))


def _limit(cpu_seconds: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY, _MEMORY))
    resource.setrlimit(resource.RLIMIT_FSIZE, (_FILE_SIZE, _FILE_SIZE))
    resource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def passes_tests(code: str, tests: tuple[str, ...] | list[str], *, timeout: float = 10.0) -> bool:
    """True if `code` followed by every assert in `tests` exits cleanly within the limits."""
    program = _without_input(code) + "\n\n" + "\n".join(tests) + "\n"
    with tempfile.TemporaryDirectory(prefix="evenhand-mbpp-") as tmp:
        script = Path(tmp) / "solution.py"
        script.write_text(program, encoding="utf-8")
        proc = subprocess.Popen(
            [sys.executable, "-I", "-B", str(script)],
            cwd=tmp,
            env={"PATH": "/usr/bin:/bin", "HOME": tmp, "LANG": "C.UTF-8"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            preexec_fn=lambda: _limit(max(1, int(timeout))),
        )
        try:
            return proc.wait(timeout=timeout) == 0
        except subprocess.TimeoutExpired:
            return False
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
