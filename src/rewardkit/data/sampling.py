"""Seeded subsets of preference pairs that keep every category represented (evaluation slices)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from rewardkit.data.schema import PreferencePair


def stratified_sample(pairs: Sequence[PreferencePair], per_category: int, seed: int) -> list[PreferencePair]:
    """Up to `per_category` rows of each category, seeded, in file order."""
    if per_category < 1:
        raise ValueError(f"per_category must be >= 1, got {per_category}")
    by_category: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        by_category[pair.category].append(index)
    rng = random.Random(seed)
    keep = []
    for indices in by_category.values():
        keep.extend(rng.sample(indices, min(per_category, len(indices))))
    return [pairs[index] for index in sorted(keep)]
