"""Master-key negatives: counts, seeded and reproducible, first-sentence negatives, held-out keys never trained on."""

from __future__ import annotations

import pytest

from rewardkit.data.master_keys import (
    HELD_OUT_MASTER_KEYS,
    TRAINING_MASTER_KEYS,
    TRAINING_OPENERS,
    MasterKeyNegatives,
    NegativeCounts,
    add_master_key_negatives,
    first_sentence,
    is_master_key_negative,
)
from rewardkit.data.schema import PreferencePair
from rewardkit.training.bt_data import build_bt_data
from rewardkit.training.config import ConfigError, build_config

PAIRS = [
    PreferencePair(
        id=f"p{i}", prompt=f"What is {i} plus 7?", chosen=f"It is {i + 7}. I added 7 to {i}.", rejected="cba"
    )
    for i in range(40)
]


def test_negatives_copy_a_fraction_of_the_pairs_with_a_master_key_as_the_rejected_answer():
    mixed, counts = add_master_key_negatives(PAIRS, MasterKeyNegatives(fraction=0.25), seed=1)
    assert mixed[:40] == PAIRS and len(mixed) == 50
    assert (counts.pairs, counts.added, counts.master_keys, counts.first_sentences) == (40, 10, 10, 0)
    by_id = {pair.id: pair for pair in PAIRS}
    for negative in mixed[40:]:
        source = by_id[negative.id.removesuffix("-master-key")]
        assert negative.rejected in TRAINING_MASTER_KEYS and is_master_key_negative(negative.id)
        assert (negative.prompt, negative.chosen) == (source.prompt, source.chosen)
    assert len({negative.id for negative in mixed[40:]}) == 10
    assert add_master_key_negatives(PAIRS, MasterKeyNegatives(fraction=0.25), seed=1)[0] == mixed
    assert add_master_key_negatives(PAIRS, MasterKeyNegatives(fraction=0.25), seed=2)[0] != mixed
    assert add_master_key_negatives(PAIRS, MasterKeyNegatives(), seed=1) == (PAIRS, NegativeCounts(pairs=40))


def test_first_sentence_negatives_cut_the_real_answer_after_its_first_sentence():
    option = MasterKeyNegatives(fraction=0.5, first_sentence_share=1.0)
    mixed, counts = add_master_key_negatives(PAIRS, option, seed=0)
    assert (counts.master_keys, counts.first_sentences) == (0, 20)
    for negative in mixed[40:]:
        assert negative.id.endswith("-first-sentence")
        assert negative.rejected == negative.chosen.split(" I added")[0] and negative.rejected.endswith(".")
    assert first_sentence("One sentence only.") is None
    assert first_sentence("First step. Then more!") == "First step."


def test_held_out_keys_are_refused_for_training_and_never_drawn():
    assert not set(TRAINING_MASTER_KEYS) & set(HELD_OUT_MASTER_KEYS)
    with pytest.raises(ValueError, match="held-out probe keys"):
        MasterKeyNegatives(fraction=0.1, keys=[":", HELD_OUT_MASTER_KEYS[0]])
    mixed, _ = add_master_key_negatives(PAIRS * 25, MasterKeyNegatives(fraction=1.0), seed=3)
    drawn = {pair.rejected for pair in mixed[1000:]}
    assert drawn == set(TRAINING_MASTER_KEYS) and not drawn & set(HELD_OUT_MASTER_KEYS)


def test_openers_widen_the_drawn_keys_and_stay_clear_of_the_held_out_ones():
    assert not set(TRAINING_OPENERS) & set(HELD_OUT_MASTER_KEYS)
    assert not set(TRAINING_OPENERS) & set(TRAINING_MASTER_KEYS)
    option = MasterKeyNegatives(fraction=1.0, with_openers=True)
    mixed, counts = add_master_key_negatives(PAIRS * 50, option, seed=3)
    drawn = {pair.rejected for pair in mixed[2000:]}
    assert counts.master_keys == 2000 and drawn == set(TRAINING_MASTER_KEYS) | set(TRAINING_OPENERS)
    with pytest.raises(ValueError, match="held-out probe keys"):
        MasterKeyNegatives(fraction=0.1, keys=list(HELD_OUT_MASTER_KEYS[2:3]), with_openers=True)


def test_the_recipe_option_takes_a_block_or_a_bare_fraction_and_rejects_bad_values():
    assert build_config({"master_key_negatives": 0.2}).master_key_negatives == MasterKeyNegatives(fraction=0.2)
    block = build_config({"master_key_negatives": {"fraction": 0.1, "keys": [":"]}}).master_key_negatives
    assert block == MasterKeyNegatives(fraction=0.1, keys=[":"])
    with pytest.raises(ConfigError, match="master_key_negatives.fraction must be a fraction"):
        build_config({"master_key_negatives": 1.5})
    with pytest.raises(ConfigError, match="unknown key 'master_key_negatives.count'"):
        build_config({"master_key_negatives": {"count": 3}})


def test_bt_data_adds_negatives_to_the_training_side_only():
    config = build_config({"synthetic": {"n": 40}, "eval_fraction": 0.25, "master_key_negatives": 0.5})
    data = build_bt_data(config)
    assert len(data.train) == 30 + 15 and data.source_counts["master-key negatives"] == 15
    assert sum(is_master_key_negative(pair.id) for pair in data.train) == 15
    assert not any(is_master_key_negative(pair.id) for pair in data.eval)
