"""Length-grouped batches whose order is a function of (seed, epoch), so a resumed run replays every epoch's order.

transformers' LengthGroupedSampler draws its permutation from the global torch RNG when the epoch starts; a resumed
run restores that RNG from the checkpoint only after the epoch's order is drawn, so from the second epoch on the
resumed order (and every later step) differs from the uninterrupted run's. A generator seeded by seed + epoch (as
accelerate's SeedableRandomSampler does for random sampling) gives both runs the same order.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from transformers.trainer_pt_utils import LengthGroupedSampler, get_length_grouped_indices


class EpochSeededLengthGroupedSampler(LengthGroupedSampler):
    """LengthGroupedSampler (mega-batches of similar length, longest first) drawn from a (seed + epoch) generator."""

    def __init__(self, batch_size: int, lengths: list[int], seed: int) -> None:
        super().__init__(batch_size, lengths=lengths)
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer (through accelerate's data loader) at the start of every epoch."""
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        generator = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(get_length_grouped_indices(self.lengths, self.batch_size, generator=generator))


def epoch_seeded(sampler: torch.utils.data.Sampler | None, seed: int) -> torch.utils.data.Sampler | None:
    """The Trainer's train sampler, with a length-grouped one replaced by its epoch-seeded equivalent."""
    if type(sampler) is not LengthGroupedSampler:
        return sampler
    return EpochSeededLengthGroupedSampler(sampler.batch_size, sampler.lengths, seed)
