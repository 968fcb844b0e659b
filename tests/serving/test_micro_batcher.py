"""MicroBatcher: concurrent requests merge into one model call, results go back to their request, a failing request
fails alone."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from rewardkit.serving.micro_batcher import BatchingConfig, MicroBatcher


def _run(coroutine):
    return asyncio.run(coroutine)


async def _with_batcher(run_batch, config, body):
    with ThreadPoolExecutor(max_workers=1) as executor:
        batcher = MicroBatcher(run_batch, config, executor)
        batcher.start()
        try:
            return await body(batcher), batcher
        finally:
            await batcher.stop()


def test_concurrent_requests_share_one_call_and_get_their_own_results():
    calls = []

    def double(items):
        calls.append(list(items))
        return [2 * item for item in items]

    async def body(batcher):
        return await asyncio.gather(*(batcher.submit([index, index + 100]) for index in range(5)))

    results, batcher = _run(_with_batcher(double, BatchingConfig(max_batch_size=64, max_wait_ms=50), body))
    assert results == [[2 * index, 2 * (index + 100)] for index in range(5)]
    assert len(calls) == 1 and sorted(calls[0]) == sorted(i for index in range(5) for i in (index, index + 100))
    assert batcher.stats.model_calls == 1 and batcher.stats.requests == 5 and batcher.stats.largest_call == 10


def test_max_batch_size_bounds_a_merged_call():
    sizes = []

    def identity(items):
        sizes.append(len(items))
        return items

    async def body(batcher):
        return await asyncio.gather(*(batcher.submit([index]) for index in range(10)))

    results, _ = _run(_with_batcher(identity, BatchingConfig(max_batch_size=4, max_wait_ms=50), body))
    assert results == [[index] for index in range(10)]
    assert max(sizes) <= 4 and sum(sizes) == 10


def test_a_failing_request_fails_alone():
    def reject_negative(items):
        if any(item < 0 for item in items):
            raise ValueError("negative item")
        return items

    async def body(batcher):
        return await asyncio.gather(
            batcher.submit([1]), batcher.submit([-1]), batcher.submit([2]), return_exceptions=True
        )

    results, batcher = _run(_with_batcher(reject_negative, BatchingConfig(max_wait_ms=50), body))
    assert results[0] == [1] and results[2] == [2]
    assert isinstance(results[1], ValueError) and "negative item" in str(results[1])
    assert batcher.stats.failed_requests == 1


def test_a_model_returning_the_wrong_count_is_an_error():
    async def body(batcher):
        return await batcher.submit([1, 2])

    with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
        _run(_with_batcher(lambda items: items[:1], BatchingConfig(max_wait_ms=0), body))


def test_submit_before_start_is_a_clear_error():
    with ThreadPoolExecutor(max_workers=1) as executor:
        batcher = MicroBatcher(lambda items: items, BatchingConfig(), executor)
        with pytest.raises(RuntimeError, match="start"):
            _run(batcher.submit([1]))


@pytest.mark.parametrize("values", [{"max_batch_size": 0}, {"max_wait_ms": -1}])
def test_config_rejects_impossible_values(values):
    with pytest.raises(ValueError):
        BatchingConfig(**values)


def test_requests_waiting_past_the_deadline_join_the_next_call():
    sizes = []

    def slow_identity(items):
        sizes.append(len(items))
        time.sleep(0.2)  # requests pile up while the model is busy
        return items

    async def body(batcher):
        first = asyncio.ensure_future(batcher.submit([0]))
        await asyncio.sleep(0.05)  # the first call is running
        rest = [batcher.submit([index]) for index in range(1, 6)]
        return await asyncio.gather(first, *rest)

    results, _ = _run(_with_batcher(slow_identity, BatchingConfig(max_batch_size=32, max_wait_ms=0), body))
    assert results == [[index] for index in range(6)]
    assert sizes == [1, 5]
