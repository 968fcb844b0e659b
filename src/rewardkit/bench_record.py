"""The fields every benchmark's JSON line ends with: the machine it ran on and the date."""

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
