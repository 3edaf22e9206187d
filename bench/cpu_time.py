# CPU time spent by a server and its helper processes, read from /proc (Linux).
#
# A throughput figure on a shared machine moves with everyone else's load; the CPU a
# server spends per message does much less, so the throughput benchmarks report both.
# A process tree's CPU time is its own user + system time, what it has collected
# from children it reaped (Postfix's master reaps smtpd, cleanup, virtual...), and
# the same for every live descendant.
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

PROC = Path("/proc")
TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat after the command name (field 3 onwards), None once it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rpartition(")")[2].split()


def _children(parent: int) -> list[int]:
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            fields = _stat_fields(int(entry.name))
            if fields is not None and int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


def tree_cpu_seconds(roots: Iterable[int]) -> float:
    """User + system CPU seconds of the processes `roots`, their reaped children and
    their live descendants."""
    total, pending = 0, list(roots)
    while pending:
        pid = pending.pop()
        fields = _stat_fields(pid)
        if fields is None:
            continue
        total += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
        pending.extend(_children(pid))
    return total / TICKS
