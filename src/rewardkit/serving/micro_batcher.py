"""Micro-batching: requests that arrive within a few milliseconds of each other go to the model as one call.

An RL trainer sends many small concurrent requests (one per rollout worker); a reward model is far faster on one
padded batch than on many single rows. The batcher waits at most `max_wait_ms` after the first pending request,
or until `max_batch_size` items are pending, then runs one model call on the executor it is given. The server gives
all batchers of a model the same one-thread executor, so the model is never called concurrently, whichever route
the calls come from. When a merged call fails, each request of it is run alone, so one bad request
fails only itself.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)


@dataclass
class BatchingConfig:
    """How long and how much the server gathers before calling the model."""

    max_batch_size: int = field(default=32, metadata={"help": "Items (responses or pairs) per model call at most."})
    max_wait_ms: float = field(default=10.0, metadata={"help": "Wait after the first pending request, in ms."})

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")


@dataclass
class BatchStats:
    """What the batcher has done, for /info and benchmarks."""

    requests: int = 0
    items: int = 0
    model_calls: int = 0
    largest_call: int = 0
    failed_requests: int = 0

    def record_call(self, size: int) -> None:
        self.model_calls += 1
        self.largest_call = max(self.largest_call, size)


@dataclass
class _Pending:
    items: list[Any]
    future: asyncio.Future


class MicroBatcher:
    """Merges concurrent `submit(items)` calls into calls of `run_batch(items) -> results` (one result per item), run
    on `executor` (owned by the caller, who shuts it down)."""

    def __init__(
        self, run_batch: Callable[[list[Any]], Sequence[Any]], config: BatchingConfig, executor: Executor
    ) -> None:
        self.run_batch = run_batch
        self.config = config
        self.stats = BatchStats()
        self._queue: asyncio.Queue[_Pending] | None = None
        self._worker: asyncio.Task | None = None
        self._executor = executor

    def start(self) -> None:
        """Start the gathering loop on the running event loop (the app's lifespan calls this)."""
        self._queue = asyncio.Queue()
        self._worker = asyncio.get_running_loop().create_task(self._gather_forever())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)

    async def submit(self, items: list[Any]) -> list[Any]:
        """The results of `items`, computed in whatever merged call they land in."""
        if self._queue is None:
            raise RuntimeError("MicroBatcher.start() was not called (the server's lifespan starts it)")
        if not items:
            return []
        self.stats.requests += 1
        self.stats.items += len(items)
        pending = _Pending(list(items), asyncio.get_running_loop().create_future())
        await self._queue.put(pending)
        return await pending.future

    async def _gather_forever(self) -> None:
        while True:
            batch = await self._gather_one_batch()
            await self._run(batch)

    async def _gather_one_batch(self) -> list[_Pending]:
        batch = [await self._queue.get()]
        size = len(batch[0].items)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.max_wait_ms / 1000
        while size < self.config.max_batch_size:
            remaining = deadline - loop.time()
            try:  # past the deadline, still take what is already waiting (it piled up while the model was busy)
                if remaining <= 0:
                    pending = self._queue.get_nowait()
                else:
                    pending = await asyncio.wait_for(self._queue.get(), timeout=remaining)
            except (asyncio.QueueEmpty, TimeoutError):
                break
            batch.append(pending)
            size += len(pending.items)
        return batch

    async def _run(self, batch: list[_Pending]) -> None:
        items = [item for pending in batch for item in pending.items]
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._checked_call, items)
        except Exception as error:  # noqa: BLE001 - reported to the requests, never swallowed
            if len(batch) > 1:
                logger.info("a merged call of %d requests failed (%s); running each alone", len(batch), error)
                for pending in batch:
                    await self._run([pending])
                return
            self.stats.failed_requests += 1
            if not batch[0].future.done():
                batch[0].future.set_exception(error)
            return
        start = 0
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(results[start : start + len(pending.items)])
            start += len(pending.items)

    def _checked_call(self, items: list[Any]) -> list[Any]:
        self.stats.record_call(len(items))
        results = list(self.run_batch(items))
        if len(results) != len(items):
            raise RuntimeError(f"the model returned {len(results)} results for {len(items)} items")
        return results
