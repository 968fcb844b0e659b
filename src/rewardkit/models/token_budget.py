"""Length-sorted dynamic batching shared by every scorer: sort by length, pack under a padded-token budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch


def token_budget_batches(lengths: Sequence[int], max_tokens_per_batch: int) -> list[list[int]]:
    """Indices grouped longest first so that each padded batch holds at most `max_tokens_per_batch` tokens.

    A sequence longer than the budget gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda index: -lengths[index])
    batches: list[list[int]] = []
    for index in order:
        if batches and lengths[batches[-1][0]] * (len(batches[-1]) + 1) <= max_tokens_per_batch:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def map_in_token_budget_batches(
    sequences: Sequence[Sequence[int]],
    max_tokens_per_batch: int,
    compute: Callable[[list[Sequence[int]]], Sequence[float]],
) -> list[float]:
    """`compute` over the token-budget batches of `sequences` (longest first); one value per sequence, input order."""
    values = [0.0] * len(sequences)
    for batch in token_budget_batches([len(sequence) for sequence in sequences], max_tokens_per_batch):
        for index, value in zip(batch, compute([sequences[index] for index in batch]), strict=True):
            values[index] = value
    return values


def pad_right(sequences: Sequence[Sequence[int]], pad_token_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask) with every sequence padded on the right to the longest one."""
    width = max(len(sequence) for sequence in sequences)
    input_ids = torch.full((len(sequences), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        input_ids[row, : len(sequence)] = torch.as_tensor(sequence, dtype=torch.long)
        attention_mask[row, : len(sequence)] = 1
    return input_ids, attention_mask
