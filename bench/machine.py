"""A description of the machine and software a benchmark ran on (no host names, no paths)."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("medkg", "pyoxigraph", "rdflib", "owlrl")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _ram_gib() -> float | None:
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None
    return round(pages * size / 2**30, 1)


def _usable_cores() -> int | None:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count()


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages: other work competing for the cores."""
    try:
        return [round(value, 2) for value in os.getloadavg()]
    except OSError:
        return None


def describe() -> dict[str, object]:
    """CPU, cores, RAM, OS, Python and package versions, the date (UTC), the load average."""
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": _cpu_model(),
        "architecture": platform.machine(),
        "cores": os.cpu_count(),
        "usable_cores": _usable_cores(),
        "ram_gib": _ram_gib(),
        "os": platform.system(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "packages": {name: _package_version(name) for name in PACKAGES},
        "load_average_at_start": load_average(),
    }


@dataclass(frozen=True)
class CpuSample:
    """CPU time used so far by the whole machine and by this process, for telling how much
    other work competed with a measurement."""

    wall_s: float
    machine_busy_s: float | None  # every process (None where /proc/stat is unavailable)
    #: this process and its finished child processes, plus the process trees of ``take``'s
    #: ``pids`` (servers the benchmark started: their work is the measurement's, not others')
    own_s: float

    @classmethod
    def take(cls, pids: Sequence[int] = ()) -> CpuSample:
        times = os.times()
        own = times.user + times.system + times.children_user + times.children_system
        own += sum(process_tree_cpu_s(pid) for pid in pids)
        return cls(time.monotonic(), _machine_busy_s(), own)


def _process_cpu_s(pid: int) -> float:
    """CPU time of ``pid`` and of its children it has waited for (0 if unreadable)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return 0.0
    fields = text.rsplit(")", 1)[-1].split()  # after the command name, which may hold spaces
    try:
        utime, stime, cutime, cstime = (int(v) for v in fields[11:15])
    except ValueError:
        return 0.0
    return (utime + stime + cutime + cstime) / ticks


def _child_pids(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text(encoding="ascii")
    except OSError:
        return []
    return [int(x) for x in text.split()]


def process_tree_cpu_s(pid: int) -> float:
    """CPU time used so far by ``pid`` and all its descendants (0 where /proc is missing)."""
    total, pending = 0.0, [pid]
    while pending:
        current = pending.pop()
        total += _process_cpu_s(current)
        pending.extend(_child_pids(current))
    return total


def _machine_busy_s() -> float | None:
    try:
        with open("/proc/stat", encoding="ascii") as handle:
            fields = handle.readline().split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 8:
        return None
    user, nice, system, _idle, _iowait, irq, softirq = (int(v) for v in fields[1:8])
    return (user + nice + system + irq + softirq) / ticks


def other_cpu_share(start: CpuSample, end: CpuSample) -> float | None:
    """The share (0..1) of the machine's CPU capacity that other processes used between
    ``start`` and ``end``."""
    cores = _usable_cores() or 1
    wall = end.wall_s - start.wall_s
    if start.machine_busy_s is None or end.machine_busy_s is None or wall <= 0:
        return None
    others = (end.machine_busy_s - start.machine_busy_s) - (end.own_s - start.own_s)
    return round(min(max(others / (wall * cores), 0.0), 1.0), 3)


def proc_status_mib(field_name: str) -> float | None:
    """A ``/proc/self/status`` memory field (VmRSS, VmHWM) in MiB; None off Linux. VmHWM is
    this program's own peak: unlike ``getrusage``'s ``ru_maxrss``, which Linux carries
    over ``execve`` from the process that forked it (a child of a large process would
    report at least that process's size)."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field_name + ":"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def clean_environment() -> dict[str, str]:
    """This process's environment without ``MEDKG_*`` settings: a benchmarked program gets
    only the settings the benchmark gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MEDKG_")}
