"""bench/bench_pair_packing.py's token accounting, checked by hand (the timing itself is what the bench measures)."""

from __future__ import annotations

import pytest

from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_pair_packing.py")


def test_grouped_batches_draw_every_pair_once_in_batches_of_the_size(bench):
    lengths = [5, 9, 2, 7, 7, 3, 1]
    batches = bench.grouped_batches(lengths, 2, seed=0)
    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert [len(batch) for batch in batches].count(2) == 3
    assert max(lengths[index] for index in batches[0]) == 9, "the longest batch comes first"


def test_epoch_tokens_count_two_padded_rows_a_pair_whole_and_one_packed(bench):
    datasets = {"whole": {"length": [10, 10, 10, 7]}, "packed": {"length": [12, 12, 12, 9]}}
    tokens = bench.epoch_padded_tokens(datasets, batch_size=2, seed=0)
    assert tokens["whole"] == 2 * 4 * 10 and tokens["packed"] == 4 * 12, "each batch padded to its longest"
    assert tokens["ratio"] == round(80 / 48, 2)
