"""CPU time of a process tree, from /proc: what a contender's processes (workers included) spent.

utime + stime of every live process under the root, plus what its reaped children spent (cutime +
cstime), so a worker that exits between two readings still counts; read at the start and end of a
measurement, the difference divided by the requests answered is the CPU cost per request. Linux only.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
    return raw[raw.rindex(")") + 2 :].split()


def descendants(root: int) -> list[int]:
    """The root and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(pid)
        stack.extend(children.get(pid, ()))
    return tree


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of one process and of its reaped children (0 if it is gone)."""
    fields = _stat_fields(pid)
    if fields is None:
        return 0.0
    # After the command name the state is index 0: utime, stime, cutime, cstime are 11 to 14.
    return sum(int(f) for f in fields[11:15]) / TICKS


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds spent so far by the root and every live process below it."""
    return sum(process_cpu_seconds(pid) for pid in descendants(root))


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, all cores together: what every
    process spent, ours and everyone else's, to tell how contended a measurement was."""
    fields = [int(f) for f in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return (sum(fields[:8]) - idle) / TICKS, idle / TICKS
