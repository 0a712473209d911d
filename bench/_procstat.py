"""CPU seconds of processes from /proc/<pid>/stat, for the services bench."""

from __future__ import annotations

import os
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int, children: bool = False) -> float:
    """utime + stime of the process (all its threads); with `children`, plus the reaped children's times."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "; state is field 3 of stat(5)
    utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
    return (utime + stime + ((cutime + cstime) if children else 0)) / TICK


def pids_named(*names: str) -> dict[int, str]:
    """Running processes whose command name is one of `names` (read from /proc, nothing is signalled)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        if comm in names:
            found[int(entry.name)] = comm
    return found


def snapshot(pids: dict[int, str]) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each process (children included: the runc and probe execs a shim reaps)."""
    out = {}
    for pid, comm in pids.items():
        try:
            out[pid] = (comm, cpu_seconds(pid, children=True))
        except OSError:
            pass  # ended meanwhile
    return out


def delta_by_name(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds used between two snapshots, per command name, over the processes present in both."""
    out: dict[str, float] = {}
    for pid, (comm, cpu) in after.items():
        if pid in before and before[pid][0] == comm:
            out[comm] = out.get(comm, 0.0) + cpu - before[pid][1]
    return out
