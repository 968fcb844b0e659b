"""Several processes, one run: what a recipe needs when `torchrun` or `accelerate launch` starts it N times.

The launchers set RANK / WORLD_SIZE / LOCAL_RANK; `initialize` then builds accelerate's process group (NCCL on GPUs,
gloo on CPU) before anything else runs, so generation before the first Trainer is already sharded and each rank
uses its own GPU. The Trainer reuses that state for data-parallel training. Rank 0 alone writes files; generation
(CLoud self-critiques, STaR rationales) is split across ranks and gathered back in order.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

ItemT = TypeVar("ItemT")
ResultT = TypeVar("ResultT")


def launched_world_size() -> int:
    """How many processes the launcher started (1 when run directly)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def initialize() -> None:
    """Join the launcher's process group (a no-op for a single process): accelerate's PartialState picks the backend
    and, on GPUs, this process's device. The group is destroyed at exit, while the interpreter is still whole: left
    to the interpreter's teardown, gloo's worker threads can abort the process after a run that succeeded."""
    if launched_world_size() > 1 and not torch.distributed.is_initialized():
        from accelerate import PartialState

        PartialState(cpu=not torch.cuda.is_available())
        atexit.register(_destroy_process_group)


def _destroy_process_group() -> None:
    if is_distributed():
        torch.distributed.destroy_process_group()


def is_distributed() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def rank() -> int:
    return torch.distributed.get_rank() if is_distributed() else 0


def world_size() -> int:
    return torch.distributed.get_world_size() if is_distributed() else 1


def is_main_process() -> bool:
    return rank() == 0


def wait_for_everyone() -> None:
    if is_distributed():
        torch.distributed.barrier()


def on_main_process(write: Callable[[], ResultT]) -> ResultT | None:
    """Run `write` on rank 0 only (saving a model, writing a log), then let every rank go on together."""
    result = write() if is_main_process() else None
    wait_for_everyone()
    return result


def sharded_map(function: Callable[[list[ItemT]], list[ResultT]], items: Sequence[ItemT]) -> list[ResultT]:
    """`function(items)` with the items dealt round-robin across ranks (item i to rank i mod N) and the results
    gathered back in the items' order on every rank; one call on the whole list for a single process."""
    if not is_distributed():
        return function(list(items))
    own = function(list(items[rank() :: world_size()]))
    gathered: list[Any] = [None] * world_size()
    torch.distributed.all_gather_object(gathered, own)
    results: list[ResultT] = [None] * len(items)  # type: ignore[list-item]
    for shard_rank, shard in enumerate(gathered):
        results[shard_rank :: world_size()] = shard
    return results
