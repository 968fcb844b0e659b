"""Length-sorted dynamic batching under a padded-token budget."""

from __future__ import annotations

from rewardkit.models.token_budget import map_in_token_budget_batches, pad_right, token_budget_batches


def test_token_budget_batches_are_longest_first_and_within_budget():
    lengths = [3, 10, 4, 6, 9]

    batches = token_budget_batches(lengths, max_tokens_per_batch=20)

    assert batches == [[1, 4], [3, 2, 0]]
    assert token_budget_batches(lengths, max_tokens_per_batch=1) == [[1], [4], [3], [2], [0]]


def test_token_budget_batches_cover_each_index_once_within_budget():
    lengths = [5, 40, 12, 40, 3, 25, 7]
    batches = token_budget_batches(lengths, max_tokens_per_batch=60)
    assert sorted(index for batch in batches for index in batch) == list(range(len(lengths)))
    assert all(max(lengths[i] for i in batch) * len(batch) <= 60 for batch in batches)
    assert batches[0][0] in (1, 3), "the longest sequence goes first"


def test_token_budget_puts_an_oversize_sequence_alone():
    assert token_budget_batches([100, 2, 2], max_tokens_per_batch=10) == [[0], [1, 2]]


def test_pad_right_masks_the_padding():
    input_ids, attention_mask = pad_right([[5, 6, 7], [8]], pad_token_id=0)
    assert input_ids.tolist() == [[5, 6, 7], [8, 0, 0]]
    assert attention_mask.tolist() == [[1, 1, 1], [1, 0, 0]]


def test_map_in_token_budget_batches_returns_values_in_input_order():
    sequences = [[1] * 3, [2] * 10, [3] * 4, [4] * 6, [5] * 9]
    calls = []

    def first_token_times_length(batch):
        calls.append([len(sequence) for sequence in batch])
        return [sequence[0] * len(sequence) for sequence in batch]

    values = map_in_token_budget_batches(sequences, 20, first_token_times_length)
    assert values == [3, 20, 12, 24, 45]
    assert calls == [[10, 9], [6, 4, 3]]
