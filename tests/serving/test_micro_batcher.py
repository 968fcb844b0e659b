"""MicroBatcher: concurrent requests merge into one model call, results go back to their request, a failing request
fails alone, large requests are split and share calls fairly, the queue is bounded, abandoned work is dropped."""

from __future__ import annotations

import asyncio
import time

import pytest

from rewardkit.serving.micro_batcher import BatchingConfig, MicroBatcher, QueueFull, fair_shares


def _run(coroutine):
    return asyncio.run(coroutine)


async def _with_batcher(run_batch, config, body):
    batcher = MicroBatcher({"run": run_batch}, config)
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
        return await asyncio.gather(*(batcher.submit("run", [index, index + 100]) for index in range(5)))

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
        return await asyncio.gather(*(batcher.submit("run", [index]) for index in range(10)))

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
            batcher.submit("run", [1]), batcher.submit("run", [-1]), batcher.submit("run", [2]), return_exceptions=True
        )

    results, batcher = _run(_with_batcher(reject_negative, BatchingConfig(max_wait_ms=50), body))
    assert results[0] == [1] and results[2] == [2]
    assert isinstance(results[1], ValueError) and "negative item" in str(results[1])
    assert batcher.stats.failed_requests == 1


def test_a_model_returning_the_wrong_count_is_an_error():
    async def body(batcher):
        return await batcher.submit("run", [1, 2])

    with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
        _run(_with_batcher(lambda items: items[:1], BatchingConfig(max_wait_ms=0), body))


def test_submit_before_start_is_a_clear_error():
    batcher = MicroBatcher({"run": lambda items: items}, BatchingConfig())
    with pytest.raises(RuntimeError, match="start"):
        _run(batcher.submit("run", [1]))


@pytest.mark.parametrize(
    "values", [{"max_batch_size": 0}, {"max_wait_ms": -1}, {"max_batch_size": 8, "max_queue_items": 4}]
)
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
        first = asyncio.ensure_future(batcher.submit("run", [0]))
        await asyncio.sleep(0.05)  # the first call is running
        rest = [batcher.submit("run", [index]) for index in range(1, 6)]
        return await asyncio.gather(first, *rest)

    results, _ = _run(_with_batcher(slow_identity, BatchingConfig(max_batch_size=32, max_wait_ms=0), body))
    assert results == [[index] for index in range(6)]
    assert sizes == [1, 5]


def test_fair_shares_give_each_request_a_turn_before_any_gets_two():
    assert fair_shares([400, 1, 1, 1], 32) == [29, 1, 1, 1]
    assert fair_shares([3, 1], 8) == [3, 1]
    assert fair_shares([5, 5, 5], 4) == [2, 1, 1]


def test_a_large_request_is_split_into_calls_of_the_batch_size():
    sizes = []

    def identity(items):
        sizes.append(len(items))
        return items

    async def body(batcher):
        return await batcher.submit("run", list(range(100)))

    result, _ = _run(_with_batcher(identity, BatchingConfig(max_batch_size=32, max_wait_ms=0), body))
    assert result == list(range(100)) and sizes == [32, 32, 32, 4]


def test_a_small_request_rides_in_the_next_call_not_behind_a_large_one():
    calls = []

    def slow_identity(items):
        calls.append(list(items))
        time.sleep(0.05)
        return items

    async def body(batcher):
        large = asyncio.ensure_future(batcher.submit("run", list(range(100))))
        await asyncio.sleep(0.02)  # the first call of the large request is running
        small = await batcher.submit("run", [-1])
        return small, await large

    (small, large), _ = _run(_with_batcher(slow_identity, BatchingConfig(max_batch_size=8, max_wait_ms=0), body))
    assert small == [-1] and large == list(range(100))
    assert -1 in calls[1]  # the second of 13 calls, not after all of the large request's


def test_a_full_queue_refuses_with_a_retry_after():
    async def body(batcher):
        first = asyncio.ensure_future(batcher.submit("run", list(range(8))))
        await asyncio.sleep(0)
        with pytest.raises(QueueFull, match="queue holds 8") as refused:
            await batcher.submit("run", [1])
        await first
        return refused.value.retry_after_s

    def slow_identity(items):
        time.sleep(0.05)
        return items

    retry_after, batcher = _run(
        _with_batcher(slow_identity, BatchingConfig(max_batch_size=4, max_wait_ms=50, max_queue_items=8), body)
    )
    assert retry_after >= 1 and batcher.stats.rejected_requests == 1


def test_work_of_a_cancelled_request_is_dropped():
    seen = []

    def slow_identity(items):
        seen.extend(items)
        time.sleep(0.05)
        return items

    async def body(batcher):
        abandoned = asyncio.ensure_future(batcher.submit("run", list(range(40))))
        await asyncio.sleep(0.02)  # its first call (8 items) is running
        abandoned.cancel()
        return await batcher.submit("run", [-1])

    result, batcher = _run(_with_batcher(slow_identity, BatchingConfig(max_batch_size=8, max_wait_ms=0), body))
    assert result == [-1] and len([item for item in seen if item >= 0]) == 8
    assert batcher.stats.dropped_items == 32
