"""What the benchmarks share: the fields every JSON line ends with (the machine it ran on and the date), the chunks
over which a benchmark alternates the order of the paths it times (a CPU's speed drifts within a run), and the
compiled twin of a scorer that two of them time beside it."""

from __future__ import annotations

import datetime
import os
import platform
import time
from typing import Any

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


def compiled_twin(model: Any) -> tuple[Any, float]:
    """A `ScalarRewardModel`'s compiled copy (same model object) and the seconds its warm-up took: the compile of the
    one graph every later batch reuses, as `rewardkit serve` does before it listens."""
    twin = model.compiled_copy()
    start = time.perf_counter()
    twin.warm_up()
    return twin, time.perf_counter() - start
