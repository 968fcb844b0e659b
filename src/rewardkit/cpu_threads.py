"""How many CPU threads torch uses: the cores actually free, so two jobs side by side do not fight over cores.

torch's default is one thread per core, whatever else runs: two jobs on a 2-core machine then run four threads on
two cores and both slow down more than the split would cost. At start-up the CLI sets OMP_NUM_THREADS (read by torch
when it is imported) to the cores this process may run on minus those the other processes keep busy (the 1-minute
load average), at least 1. A value the user set wins: OMP_NUM_THREADS, or REWARDKIT_THREADS (which also overrides
an inherited OMP_NUM_THREADS). Torch-free, so the CLI imports it without loading torch.
"""

from __future__ import annotations

import os
import sys

THREADS_ENV = "REWARDKIT_THREADS"
OMP_ENV = "OMP_NUM_THREADS"


def usable_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS reports it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def free_cores(load_average: float | None = None) -> int:
    """Usable cores minus the ones other processes keep busy (rounded 1-minute load average), at least 1."""
    if load_average is None:
        load_average = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    return max(1, usable_cores() - round(load_average))


def configure_cpu_threads() -> tuple[int, str]:
    """Set the thread count for torch (before it is imported, else also through torch.set_num_threads); returns
    (threads, why)."""
    if os.environ.get(THREADS_ENV):
        threads, why = _whole_number(os.environ[THREADS_ENV]), f"{THREADS_ENV} is set"
    elif os.environ.get(OMP_ENV):
        return int(os.environ[OMP_ENV]), f"{OMP_ENV} is set"
    else:
        threads, why = free_cores(), "free cores (usable cores minus the 1-minute load average)"
    os.environ[OMP_ENV] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
    return threads, why


def _whole_number(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(f"{THREADS_ENV} must be a whole number >= 1, got {text!r}")
    return int(text)
