"""Data contract: the shared preference files read cleanly with the sizes and categories their README states."""

from __future__ import annotations

from collections import Counter

import pytest

from rewardkit.data import read_pairs

pytestmark = pytest.mark.integration


def test_rewardbench_like_dev_rows_and_categories(shared_data):
    result = read_pairs(shared_data / "eval" / "rewardbench_like_dev.jsonl")
    assert (len(result.pairs), result.skipped) == (2_004, [])
    assert Counter(pair.category for pair in result.pairs) == {
        "chat": 285,
        "chat_hard": 160,
        "safety": 233,
        "reasoning": 925,
        "prior_sets": 401,
    }
    assert len({pair.id for pair in result.pairs}) == 2_004
    assert all(pair.subset != "default" and pair.source and pair.label_kind for pair in result.pairs)


def test_hh_rlhf_harmless_pairs_are_conversations_ending_with_a_user_turn(shared_data):
    result = read_pairs(shared_data / "train" / "hh_rlhf_harmless_pairs.jsonl")
    assert (len(result.pairs), result.skipped) == (1_326, [])
    assert {pair.category for pair in result.pairs} == {"train"}
    assert all(isinstance(pair.prompt, list) and pair.prompt[-1]["role"] == "user" for pair in result.pairs)


def test_alpacaeval_pairs_have_one_empty_response_that_skip_mode_reports(shared_data):
    path = shared_data / "train" / "alpacaeval_gpt4_pairs.jsonl"
    result = read_pairs(path, on_error="skip")
    assert len(result.pairs) == 11_750
    assert [(row.line, row.field) for row in result.skipped] == [(3_335, "rejected")]
    assert all(pair.p_chosen is not None and "chosen_model" in pair.extra for pair in result.pairs)
