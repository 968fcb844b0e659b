"""Tokenizing pairs with our truncation (counted, never dropped) and the one-forward pairwise collator."""

from __future__ import annotations

import pytest

from rewardkit.data.schema import PreferencePair
from rewardkit.models.chat import TruncationConfig
from rewardkit.models.tiny import build_tiny_tokenizer
from rewardkit.training.collate import PairwiseCollator, pair_margin, tokenize_pairs

PAD_ID = 0


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer()


def _pairs() -> list[PreferencePair]:
    long_prompt = "Count the letters in the word banana. " * 12
    return [
        PreferencePair(id="short", prompt="What is 12 plus 7?", chosen="19", rejected="18", extra={"gap": 2.0}),
        PreferencePair(id="long", prompt=long_prompt, chosen="There are 6 letters. " * 20, rejected="6", p_chosen=0.9),
    ]


def test_tokenize_keeps_every_pair_and_counts_the_cuts(tokenizer):
    truncation = TruncationConfig(max_length=48, max_response_length=24)
    dataset, counts = tokenize_pairs(_pairs(), tokenizer, truncation)
    assert len(dataset) == 2, "long pairs are truncated, never dropped"
    assert (counts.pairs, counts.prompts_truncated, counts.responses_truncated) == (2, 1, 1)
    assert all(len(ids) <= 48 for ids in list(dataset["chosen_input_ids"]) + list(dataset["rejected_input_ids"]))
    assert list(dataset["length"]) == [
        max(len(c), len(r)) for c, r in zip(dataset["chosen_input_ids"], dataset["rejected_input_ids"], strict=True)
    ]
    assert "1 of 2 prompts truncated" in counts.summary() and "1 of 4 responses" in counts.summary()


def test_nothing_is_cut_within_budget(tokenizer):
    _, counts = tokenize_pairs(_pairs()[:1], tokenizer, TruncationConfig(max_length=512, max_response_length=256))
    assert (counts.prompts_truncated, counts.responses_truncated) == (0, 0)


def test_collator_puts_chosen_then_rejected_in_one_padded_batch(tokenizer):
    dataset, _ = tokenize_pairs(_pairs(), tokenizer, TruncationConfig(max_length=64, max_response_length=32))
    features = [dataset[0], dataset[1]]
    batch = PairwiseCollator(pad_token_id=PAD_ID)(features)
    widest = max(len(ids) for ids in list(dataset["chosen_input_ids"]) + list(dataset["rejected_input_ids"]))
    assert batch["input_ids"].shape == (4, widest)
    assert batch["attention_mask"].shape == (4, widest)
    assert batch["margin"].shape == (2,)
    rows = [features[0]["chosen_input_ids"], features[1]["chosen_input_ids"]]
    rows += [features[0]["rejected_input_ids"], features[1]["rejected_input_ids"]]
    for row, ids in enumerate(rows):
        assert batch["input_ids"][row, : len(ids)].tolist() == ids
        assert batch["attention_mask"][row].sum().item() == len(ids)
        assert set(batch["input_ids"][row, len(ids) :].tolist()) <= {PAD_ID}


def test_margins_from_a_constant_a_pair_attribute_or_extra(tokenizer):
    short, long = _pairs()
    assert pair_margin(short, 0.25, None) == 0.25
    assert pair_margin(short, 0.25, "gap") == pytest.approx(2.25)
    assert pair_margin(long, 0.0, "p_chosen") == pytest.approx(0.9)
    dataset, _ = tokenize_pairs([short], tokenizer, TruncationConfig(), margin=0.5, margin_field="gap")
    assert list(dataset["margin"]) == [2.5]


def test_missing_margin_field_names_the_pair():
    with pytest.raises(ValueError, match="pair 'long': margin_field 'gap'"):
        pair_margin(_pairs()[1], 0.0, "gap")
