"""Micro-batching with fair shares: concurrent requests go to the model as shared calls of at most `max_batch_size`.

An RL trainer sends many small concurrent requests (one per rollout worker); a reward model is far faster on one
padded batch than on many single rows. The batcher waits at most `max_wait_ms` after a request arrives, or until
`max_batch_size` items are pending, then runs one model call in its one worker thread (so the model is never called
concurrently, whatever the route). A call takes items from every waiting request of its kind in turn, one at a
time (max-min fair sharing), so a 400-item request is split into many calls and a one-item request that arrives
meanwhile rides in the next call instead of waiting behind all 400. At most `max_queue_items` items wait; beyond
that `submit` raises `QueueFull` (the server's 429). A request whose caller has gone (timeout, disconnect) is
dropped with its items not yet run. When a shared call fails, each request in it is run alone, so one bad request
fails only itself.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

logger = logging.getLogger(__name__)

BatchRunner = Callable[[list[Any]], Sequence[Any]]


@dataclass
class BatchingConfig:
    """How long and how much the server gathers before calling the model, and how much may wait."""

    max_batch_size: int = field(default=32, metadata={"help": "Items (responses or pairs) per model call at most."})
    max_wait_ms: float = field(default=10.0, metadata={"help": "Wait after a request arrives, in ms."})
    max_queue_items: int = field(default=4096, metadata={"help": "Items waiting at most; above, requests get 429."})

    def __post_init__(self) -> None:
        if self.max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {self.max_batch_size}")
        if self.max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {self.max_wait_ms}")
        if self.max_queue_items < self.max_batch_size:
            raise ValueError(f"max_queue_items ({self.max_queue_items}) must be >= max_batch_size")


@dataclass
class BatchStats:
    """What the batcher has done, for /info, /metrics and benchmarks."""

    requests: int = 0
    items: int = 0
    model_calls: int = 0
    largest_call: int = 0
    failed_requests: int = 0
    rejected_requests: int = 0
    dropped_items: int = 0


class QueueFull(Exception):
    """The queue holds `max_queue_items`; `retry_after_s` estimates when there will be room."""

    def __init__(self, queued: int, limit: int, retry_after_s: int) -> None:
        super().__init__(f"the server is busy: {queued:,} items wait, the queue holds {limit:,} (--max-queue-items)")
        self.retry_after_s = retry_after_s


class ShuttingDown(Exception):
    """The server stopped taking or finishing work (SIGTERM)."""


@dataclass(eq=False)
class _Job:
    kind: str
    items: list[Any]
    future: asyncio.Future
    arrived: float
    results: list[Any] = field(default_factory=list)
    next_item: int = 0
    done_items: int = 0

    def __post_init__(self) -> None:
        self.results = [None] * len(self.items)

    @property
    def waiting(self) -> int:
        return len(self.items) - self.next_item


@dataclass
class _Slice:
    job: _Job
    start: int
    stop: int


def fair_shares(waiting: Sequence[int], capacity: int) -> list[int]:
    """Max-min fair split of `capacity` slots over requests with `waiting` items: one slot each in turn, in order."""
    shares = [0] * len(waiting)
    active = [index for index, count in enumerate(waiting) if count > 0]
    while capacity > 0 and active:
        for index in list(active):
            if capacity == 0:
                break
            shares[index] += 1
            capacity -= 1
            if shares[index] == waiting[index]:
                active.remove(index)
    return shares


class MicroBatcher:
    """Runs `submit(kind, items)` through `runners[kind](items) -> results` in shared, fairly filled calls."""

    def __init__(
        self,
        runners: Mapping[str, BatchRunner],
        config: BatchingConfig,
        on_call: Callable[[int, float], None] | None = None,
    ) -> None:
        self.runners = dict(runners)
        self.config = config
        self.stats = BatchStats()
        self.on_call = on_call
        self._jobs: list[_Job] = []
        self._arrival: asyncio.Event | None = None
        self._worker: asyncio.Task | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rewardkit-model")
        self._items_per_s = 0.0
        self._draining = False

    @property
    def queued_items(self) -> int:
        """Items accepted and not yet given to the model."""
        return sum(job.waiting for job in self._jobs if not job.future.done())

    def start(self) -> None:
        """Start the gathering loop on the running event loop (the app's lifespan calls this)."""
        self._arrival = asyncio.Event()
        self._worker = asyncio.get_running_loop().create_task(self._serve_forever())

    async def stop(self) -> None:
        """Fail what still waits with `ShuttingDown`, then end the loop and the worker thread."""
        self.fail_waiting(ShuttingDown("the server shut down before this request was answered"))
        if self._worker is not None:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self._executor.shutdown(wait=True)

    def drain(self) -> None:
        """Refuse new work (SIGTERM); what was accepted still runs."""
        self._draining = True

    def fail_waiting(self, error: Exception) -> None:
        """Answer every unfinished request with `error` (the shutdown deadline passed)."""
        for job in self._jobs:
            if not job.future.done():
                job.future.set_exception(error)
        self._jobs.clear()

    async def submit(self, kind: str, items: list[Any]) -> list[Any]:
        """The results of `items`, computed in whatever calls they land in; cancelling the caller drops them."""
        if self._arrival is None:
            raise RuntimeError("MicroBatcher.start() was not called (the server's lifespan starts it)")
        if self._draining:
            raise ShuttingDown("the server is shutting down; send the request to another replica or retry")
        if not items:
            return []
        self._admit(len(items))
        loop = asyncio.get_running_loop()
        job = _Job(kind, list(items), loop.create_future(), loop.time())
        self._jobs.append(job)
        self._arrival.set()
        return await job.future

    def _admit(self, count: int) -> None:
        queued = self.queued_items
        if queued + count > self.config.max_queue_items:
            self.stats.rejected_requests += 1
            raise QueueFull(queued, self.config.max_queue_items, self._retry_after_s(queued + count))
        self.stats.requests += 1
        self.stats.items += count

    def _retry_after_s(self, items: int) -> int:
        """Seconds until `items` could have run at the measured model throughput (1 s when not measured yet)."""
        return max(1, math.ceil(items / self._items_per_s)) if self._items_per_s > 0 else 1

    async def _serve_forever(self) -> None:
        while True:
            await self._arrival.wait()
            await self._gather()
            batch = self._take_batch()
            if not batch:
                self._arrival.clear()
                continue
            await self._run(batch)

    async def _gather(self) -> None:
        """Wait for a full call's worth of items, at most until `max_wait_ms` after the oldest waiting request."""
        loop = asyncio.get_running_loop()
        waiting = [job.arrived for job in self._jobs if job.waiting and not job.future.done()]
        deadline = min(waiting, default=loop.time()) + self.config.max_wait_ms / 1000
        while self.queued_items < self.config.max_batch_size and (remaining := deadline - loop.time()) > 0:
            self._arrival.clear()
            try:
                await asyncio.wait_for(self._arrival.wait(), timeout=remaining)
            except TimeoutError:
                break
        self._arrival.set()

    def _drop_finished_jobs(self) -> None:
        for job in self._jobs:
            if job.future.done() and job.waiting:
                self.stats.dropped_items += job.waiting
        self._jobs = [job for job in self._jobs if not job.future.done()]

    def _take_batch(self) -> list[_Slice]:
        """Slices of the oldest request's kind, filled by `fair_shares`."""
        self._drop_finished_jobs()
        waiting = [job for job in self._jobs if job.waiting]
        if not waiting:
            return []
        candidates = [job for job in waiting if job.kind == waiting[0].kind]
        shares = fair_shares([job.waiting for job in candidates], self.config.max_batch_size)
        batch = []
        for job, share in zip(candidates, shares, strict=True):
            if share:
                batch.append(_Slice(job, job.next_item, job.next_item + share))
                job.next_item += share
        return batch

    async def _run(self, batch: list[_Slice]) -> None:
        items = [item for piece in batch for item in piece.job.items[piece.start : piece.stop]]
        loop = asyncio.get_running_loop()
        try:
            results = await loop.run_in_executor(self._executor, self._checked_call, batch[0].job.kind, items)
        except Exception as error:  # noqa: BLE001 - reported to the requests, never swallowed
            await self._after_failure(batch, error)
            return
        start = 0
        for piece in batch:
            self._deliver(piece, results[start : start + piece.stop - piece.start])
            start += piece.stop - piece.start

    async def _after_failure(self, batch: list[_Slice], error: Exception) -> None:
        if len(batch) > 1:
            logger.info("a shared call of %d requests failed (%s); running each alone", len(batch), error)
            for piece in batch:
                if not piece.job.future.done():
                    await self._run([piece])
            return
        job = batch[0].job
        self.stats.failed_requests += 1
        if not job.future.done():
            job.future.set_exception(error)

    def _deliver(self, piece: _Slice, results: Sequence[Any]) -> None:
        job = piece.job
        if job.future.done():
            return
        job.results[piece.start : piece.stop] = results
        job.done_items += len(results)
        if job.done_items == len(job.items):
            job.future.set_result(job.results)

    def _checked_call(self, kind: str, items: list[Any]) -> list[Any]:
        self.stats.model_calls += 1
        self.stats.largest_call = max(self.stats.largest_call, len(items))
        started = time.perf_counter()
        results = list(self.runners[kind](items))
        elapsed = time.perf_counter() - started
        if len(results) != len(items):
            raise RuntimeError(f"the model returned {len(results)} results for {len(items)} items")
        self._items_per_s = len(items) / max(elapsed, 1e-9)
        if self.on_call is not None:
            self.on_call(len(items), elapsed)
        return results
