"""bench/bench_bon_scoring.py: the chunks it alternates over, and that alternating keeps every reward in item order."""

from __future__ import annotations

import numpy as np
import pytest

from rewardkit.bench_record import compiled_twin
from rewardkit.data.bon_data import BonItem
from rewardkit.families.scalar import ScalarRewardModel
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_bon_scoring.py")


def test_alternating_paths_time_each_chunk_and_agree_in_item_order(bench, tiny_model_dir, monkeypatch):
    # fp32: on a CPU with native bf16, `auto` computes in bf16, where packed and whole rewards differ by ~1e-3
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32")
    items = [
        BonItem(
            f"q{index}",
            f"What is {index} + {index}?",
            [f"It is {2 * index}.", "No idea.", f"{index}"],
            [True, False, False],
        )
        for index in range(5)
    ]
    order = []
    for name in ("time_shared", "time_unshared"):
        timed = getattr(bench, name)
        monkeypatch.setattr(
            bench, name, lambda m, chunk, timed=timed, name=name: order.append(name) or timed(m, chunk)
        )

    result = bench.time_alternating(model, items, chunks=3, twins={})

    assert order == ["time_shared", "time_unshared", "time_unshared", "time_shared", "time_shared", "time_unshared"]
    expected = [model.rewards([item.prompt] * 3, item.candidates) for item in items]
    for seconds, rewards in result.values():
        assert seconds > 0 and np.allclose(rewards, np.concatenate(expected), atol=1e-4)


def test_the_compiled_path_runs_third_in_turn_on_the_same_model_with_the_same_rewards(bench, tiny_model_dir):
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32")
    items = [BonItem(f"q{n}", f"What is {n} + 1?", [f"{n + 1}", "No."], [True, False]) for n in range(4)]
    twin, compile_seconds = compiled_twin(model)
    assert twin.model is model.model and twin._compiled is not None and model._compiled is None
    result = bench.time_alternating(model, items, chunks=2, twins={"compiled": twin})
    assert list(result) == ["shared", "unshared", "compiled"]
    row = bench.compiled_row(result["compiled"], compile_seconds, result["shared"][1], result["unshared"][0])
    assert row["max_abs_reward_diff_vs_shared"] < 1e-5 and row["compile_seconds"] >= 0
    assert row["speedup_vs_unshared_counting_the_compile"] <= row["speedup_vs_unshared"]


def test_the_dense_mask_twin_shares_the_model_reads_the_dense_mask_and_gives_the_same_rewards(bench, tiny_model_dir):
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32")
    candidates = ["1", "No.", "It is one more."]
    items = [BonItem(f"q{n}", f"What is {n} + 1?", candidates, [True, False, False]) for n in range(2)]
    twin = model.dense_mask_copy()
    assert twin.model is model.model and model.reads_tree_layout and not twin.reads_tree_layout
    result = bench.time_alternating(model, items, chunks=1, twins={"dense mask": twin})
    row = bench.dense_mask_row(result["dense mask"], result["shared"][0], result["shared"][1])
    assert row["max_abs_reward_diff_vs_shared"] < 1e-5
    assert row["tree_attention_speedup"] == round(result["dense mask"][0] / result["shared"][0], 2)


def test_trie_tokens_counts_each_distinct_prefix_once(bench):
    # [1,2,3], [1,2,4], [1,5]: prefixes 1 | 1,2 | 1,2,3 | 1,2,4 | 1,5 -> 5 nodes
    assert bench.trie_tokens([[1, 2, 4], [1, 5], [1, 2, 3]]) == 5
    assert bench.trie_tokens([[7, 8], [7, 8]]) == 2, "a repeated candidate adds nothing"
    assert bench.trie_tokens([[1], [2, 3]]) == 3


def test_token_work_bounds_what_prefix_sharing_can_skip(bench, tiny_model_dir):
    model = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32")
    candidates = ["It is 4 because 2 + 2 = 4.", "It is 4, since two and two make four.", "Five."]
    items = [BonItem("q", "What is 2 + 2?", candidates, [True, True, False])]
    sequences = model.encode(["What is 2 + 2?"] * 3, candidates)
    work = bench.token_work(model, items)
    assert work["whole"] == sum(len(sequence) for sequence in sequences)
    assert work["trie"] < work["question_once"] < work["whole"], "the first two answers share 'It is 4'"
    assert work["whole_over_trie"] == round(work["whole"] / work["trie"], 3)
