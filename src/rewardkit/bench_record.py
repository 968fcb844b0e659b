"""What the benchmarks share: the fields every JSON line ends with (the machine it ran on and the date), and the
chunks over which a benchmark alternates the order of the paths it times (a CPU's speed drifts within a run)."""

from __future__ import annotations

import datetime
import os
import platform

import torch

from rewardkit.models.precision import supports_bf16


def machine_and_date() -> dict[str, str]:
    """`machine` (architecture, cores, torch, its threads, whether the CPU has fast bf16, the load average when the
    benchmark ends) and `date`."""
    bf16 = "with" if supports_bf16(torch.device("cpu")) else "without"
    return {
        "machine": f"{platform.machine()} {os.cpu_count()} cpus ({bf16} avx512_bf16/amx), torch {torch.__version__}, "
        f"threads {torch.get_num_threads()}, load average at the end {os.getloadavg()[0]:.1f}",
        "date": datetime.date.today().isoformat(),
    }


def chunk_bounds(total: int, count: int) -> list[tuple[int, int]]:
    """(start, end) of `count` consecutive near-equal chunks of `total` items (fewer when there are fewer items)."""
    chunks = min(count, total)
    edges = [index * total // chunks for index in range(chunks + 1)] if chunks else [0]
    return list(zip(edges[:-1], edges[1:], strict=True))
