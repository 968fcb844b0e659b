"""Stratified evaluation slices: every category capped, seeded, file order kept."""

from __future__ import annotations

from collections import Counter

import pytest

from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import stratified_sample


def _pairs(categories: str) -> list[PreferencePair]:
    return [
        PreferencePair(id=str(i), prompt=f"p{i}", chosen="a", rejected="b", category=c, subset="s")
        for i, c in enumerate(categories)
    ]


def test_stratified_sample_caps_each_category_and_keeps_file_order():
    sample = stratified_sample(_pairs("xxxxyyz"), per_category=2, seed=0)

    categories = [pair.category for pair in sample]
    assert categories.count("x") == 2 and categories.count("y") == 2 and categories.count("z") == 1
    assert [int(pair.id) for pair in sample] == sorted(int(pair.id) for pair in sample)


def test_the_same_seed_gives_the_same_slice_and_another_seed_may_not():
    pairs = _pairs("x" * 50 + "y" * 50)

    first = [pair.id for pair in stratified_sample(pairs, per_category=10, seed=3)]

    assert first == [pair.id for pair in stratified_sample(pairs, per_category=10, seed=3)]
    assert first != [pair.id for pair in stratified_sample(pairs, per_category=10, seed=4)]


def test_a_cap_below_one_is_an_error():
    with pytest.raises(ValueError, match="per_category"):
        stratified_sample(_pairs("xy"), per_category=0, seed=0)


def test_nested_slices_are_subsets_of_larger_ones():
    pairs = _pairs("c" * 30 + "s" * 25 + "r" * 12)

    small, large = (stratified_sample(pairs, n, seed=3, nested=True) for n in (5, 10))

    assert {pair.id for pair in small} < {pair.id for pair in large}
    assert Counter(pair.category for pair in small) == {"c": 5, "s": 5, "r": 5}
    unnested_small, unnested_large = (stratified_sample(pairs, n, seed=3) for n in (5, 10))
    assert not {pair.id for pair in unnested_small} <= {pair.id for pair in unnested_large}  # why nested exists
