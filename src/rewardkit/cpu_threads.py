"""How many CPU threads torch uses: the cores actually free, so two jobs side by side do not fight over cores.

torch's default is one thread per core, whatever else runs: two jobs on a 2-core machine then run four threads on
two cores and both slow down more than the split would cost. At start-up the CLI sets OMP_NUM_THREADS (read by torch
when it is imported) to the cores this process may run on minus those other processes keep busy right now (the busy
share of those cores over a quarter of a second, from /proc/stat; the 1-minute load average where that is absent),
at least 1. The load average alone is not enough: it still counts a job that ended a minute ago, such as the
install that scripts/quickstart.sh runs just before the main job, which then got one thread of two. A value
the user set wins: OMP_NUM_THREADS, or REWARDKIT_THREADS (which also overrides an inherited OMP_NUM_THREADS).
Torch-free, so the CLI imports it without loading torch.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

THREADS_ENV = "REWARDKIT_THREADS"
OMP_ENV = "OMP_NUM_THREADS"
PROC_STAT = Path("/proc/stat")
SAMPLE_SECONDS = 0.25


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def idle_and_total_jiffies(stat_text: str, cpus: set[int]) -> tuple[int, int]:
    """(idle, total) time of the CPUs `cpus` from the text of /proc/stat (idle counts iowait; guest time is already
    inside user time, so it is left out of the total)."""
    idle = total = 0
    for line in stat_text.splitlines():
        name, *values = line.split()
        if name.startswith("cpu") and name[3:].isdigit() and int(name[3:]) in cpus:
            ticks = [int(value) for value in values[:8]]
            idle += ticks[3] + ticks[4]
            total += sum(ticks)
    return idle, total


def busy_cores(sample_seconds: float = SAMPLE_SECONDS, read_stat: Callable[[], str] | None = None) -> float:
    """Cores of this process's set that others keep busy now: their non-idle share over `sample_seconds` (this
    process sleeps meanwhile) times their number; the 1-minute load average where /proc/stat cannot be read."""
    read_stat = read_stat or PROC_STAT.read_text
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set(range(os.cpu_count() or 1))
    try:
        idle_before, total_before = idle_and_total_jiffies(read_stat(), cpus)
        time.sleep(sample_seconds)
        idle_after, total_after = idle_and_total_jiffies(read_stat(), cpus)
    except (OSError, ValueError, IndexError):
        return _load_average()
    if total_after <= total_before:
        return _load_average()
    return (1 - (idle_after - idle_before) / (total_after - total_before)) * len(cpus)


def _load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def free_cores(busy: float | None = None) -> int:
    """Usable cores minus the ones other processes keep busy (rounded; measured now when not given), at least 1."""
    if busy is None:
        busy = busy_cores()
    return max(1, usable_cores() - round(busy))


def configure_cpu_threads() -> tuple[int, str]:
    """Set the thread count for torch (before it is imported, else also through torch.set_num_threads); returns
    (threads, why)."""
    if os.environ.get(THREADS_ENV):
        threads, why = _whole_number(os.environ[THREADS_ENV]), f"{THREADS_ENV} is set"
    elif os.environ.get(OMP_ENV):
        return int(os.environ[OMP_ENV]), f"{OMP_ENV} is set"
    else:
        threads, why = free_cores(), "free cores (usable cores minus those busy now)"
    os.environ[OMP_ENV] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads, why


def _whole_number(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number >= 1, got {text!r}")
    return int(text)
