"""Seeded row selections: subsets of preference pairs that keep every category represented (evaluation slices),
and which rows show the chosen response first."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from rewardkit.data.schema import NWayPreference, PreferencePair


def stratified_sample(
    pairs: Sequence[PreferencePair], per_category: int, seed: int, nested: bool = False
) -> list[PreferencePair]:
    """Up to `per_category` rows of each category, seeded, in file order. `nested`: each category's rows come from
    its own seeded order, so a smaller slice is a subset of a larger one with the same seed (reports of different
    sizes can then be paired row by row)."""
    if per_category < 1:
        raise ValueError(f"per_category must be >= 1, got {per_category}")
    by_category: dict[str, list[int]] = defaultdict(list)
    for index, pair in enumerate(pairs):
        by_category[pair.category].append(index)
    rng = random.Random(seed)
    keep = []
    for category, indices in by_category.items():
        if nested:
            order = random.Random(f"{seed}:{category}").sample(indices, len(indices))
            keep.extend(order[:per_category])
        else:
            keep.extend(rng.sample(indices, min(per_category, len(indices))))
    return [pairs[index] for index in sorted(keep)]


def assign_positions(n: int, seed: int) -> np.ndarray:
    """Chosen goes first (response A) in a seeded half of the rows, so a judge's position bias cannot score."""
    chosen_first = np.zeros(n, dtype=bool)
    chosen_first[np.random.default_rng(seed).permutation(n)[: (n + 1) // 2]] = True
    return chosen_first


def stratified_prompts(rows: Sequence[NWayPreference], per_domain: int, seed: int) -> list[NWayPreference]:
    """Up to `per_domain` prompts of each domain, each domain in its own seeded order (nested: a smaller slice is
    a subset of a larger one); rows sharing a prompt group (RewardBench 2's Ties ref/tied rows) stay together."""
    if per_domain < 1:
        raise ValueError(f"per_domain must be >= 1, got {per_domain}")
    groups: dict[str, dict[str, None]] = defaultdict(dict)
    for row in rows:
        groups[row.domain][row.group] = None
    keep = {
        (domain, group)
        for domain, names in groups.items()
        for group in random.Random(f"{seed}:{domain}").sample(list(names), len(names))[:per_domain]
    }
    return [row for row in rows if (row.domain, row.group) in keep]
