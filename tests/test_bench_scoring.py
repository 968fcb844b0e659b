"""bench/bench_scoring.py: the chunks it times and the order of its paths, which reverses from chunk to chunk."""

from __future__ import annotations

import argparse

import numpy as np
import pytest

from rewardkit.bench_record import compiled_twin
from rewardkit.models.shared_prefix import tree_layout
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_scoring.py")


def sample_of(bench, count: int):
    numbers = [str(index) for index in range(count)]
    return bench.Sample(numbers, [f"c{n}" for n in numbers], [f"r{n}" for n in numbers], numbers, numbers)


def test_chunks_keep_every_field_aligned_and_in_order(bench):
    chunks = sample_of(bench, 5).chunks(2)

    assert [chunk.prompts for chunk in chunks] == [["0", "1"], ["2", "3", "4"]]
    assert [chunk.chosen for chunk in chunks] == [["c0", "c1"], ["c2", "c3", "c4"]]
    assert [chunk.rejected_texts for chunk in chunks] == [["0", "1"], ["2", "3", "4"]]
    assert len(sample_of(bench, 2).chunks(4)) == 2


@pytest.mark.parametrize(
    ("baseline_first", "expected"),
    [
        (False, ["kit", "whole", "pipeline", "pipeline", "whole", "kit", "kit", "whole", "pipeline"]),
        (True, ["pipeline", "whole", "kit", "kit", "whole", "pipeline", "pipeline", "whole", "kit"]),
    ],
)
def test_paths_alternate_and_sum_their_seconds_with_rewards_in_pair_order(bench, baseline_first, expected):
    calls = []

    def path(name, seconds):
        def timed(chunk):
            calls.append(name)
            rewards = np.array([float(prompt) for prompt in chunk.prompts])
            return seconds, rewards, -rewards

        return timed

    paths = {"kit": path("kit", 1.0), "whole": path("whole", 2.0), "pipeline": path("pipeline", 3.0)}
    result = bench.time_alternating(paths, sample_of(bench, 7), chunks=3, baseline_first=baseline_first)

    assert calls == expected
    assert {name: seconds for name, (seconds, _, _) in result.items()} == {"kit": 3.0, "whole": 6.0, "pipeline": 9.0}
    for _, chosen, rejected in result.values():
        assert chosen.tolist() == list(range(7)) and rejected.tolist() == [-value for value in range(7)]


def test_the_hook_before_each_chunk_runs_before_that_chunks_paths(bench):
    calls = []

    def kit(chunk):
        calls.append(("kit", len(chunk.prompts)))
        return 1.0, np.zeros(len(chunk.prompts)), np.zeros(len(chunk.prompts))

    bench.time_alternating({"kit": kit}, sample_of(bench, 7), 3, False, before_chunk=lambda i: calls.append(i))

    assert [call for call in calls if isinstance(call, int)] == [0, 1, 2]
    assert all(isinstance(calls[index], int) for index in range(0, 6, 2)), calls


def test_the_hardware_fraction_reads_the_median_of_the_probes(bench, monkeypatch):
    monkeypatch.setattr(bench, "linear_flops_per_token", lambda model: 1e6)
    reward_model = type("Model", (), {"model": None})()

    hardware = bench.hardware_fraction(reward_model, (300, 200), 2.0, [80e9, 1e9, 120e9, 100e9])

    assert hardware["matmul_gflops"] == 90.0 and hardware["matmul_gflops_probes"] == [80.0, 1.0, 120.0, 100.0]
    assert hardware["fraction_of_matmul_rate"] == round(1e6 * 200 / 2.0 / 90e9, 3)
    assert hardware["read_tokens_per_s"] == 100.0 and hardware["scored_tokens_per_s"] == 150.0


def test_pipeline_tokens_pad_each_batch_of_each_chunk_to_its_longest(bench):
    lengths = [3, 5, 2, 4, 1, 6]
    # one chunk, batches of 4: [3,5,2,4] -> 4 x 5, [1,6] -> 2 x 6
    assert bench.pipeline_padded_tokens(lengths, chunks=1, batch_size=4) == 20 + 12
    # two chunks [3,5,2] and [4,1,6]; a batch never crosses a chunk: 3 x 5 + 3 x 6
    assert bench.pipeline_padded_tokens(lengths, chunks=2, batch_size=4) == 15 + 18
    assert bench.pipeline_padded_tokens(lengths, chunks=2, batch_size=2) == 2 * 5 + 1 * 2 + 2 * 4 + 1 * 6


def test_the_bf16_pipeline_path_leaves_the_scorers_own_weights_unrounded(bench, tiny_model_dir):
    import argparse

    import torch

    from rewardkit.families.scalar import ScalarRewardModel

    reward_model = ScalarRewardModel.from_backbone(str(tiny_model_dir), device="cpu", precision="fp32")
    before = {name: tensor.clone() for name, tensor in reward_model.model.state_dict().items()}
    args = argparse.Namespace(baseline_batch_size=2, max_length=32)
    seconds, chosen, rejected = bench.time_reward_bench_path(
        reward_model, ["a b c", "d e"], ["f", "g h"], args, torch.bfloat16
    )
    assert len(chosen) == len(rejected) == 2 and seconds > 0
    after = reward_model.model.state_dict()
    assert all(after[name].dtype == torch.float32 and torch.equal(after[name], before[name]) for name in before)


def test_the_compiled_twin_shares_the_model_compiles_once_and_leaves_the_scorer_eager(bench, tiny_model_dir):
    from rewardkit.families.scalar import ScalarRewardModel

    reward_model = ScalarRewardModel.from_backbone(str(tiny_model_dir), device="cpu", precision="fp32")
    prompts = ["What is 2 + 2?", "Name a colour.", "Spell cat.", "Count to three."]
    sample = bench.Sample(prompts, ["4", "red", "c a t", "1 2 3"], ["5", "loud", "dog", "3 2 1"], prompts, prompts)
    twin, compile_seconds = compiled_twin(reward_model)
    assert twin.model is reward_model.model and twin.compiles and twin._compiled is not None
    assert not reward_model.compiles and reward_model._compiled is None and compile_seconds > 0
    _, kit_chosen, kit_rejected = bench.time_rewardkit_path(reward_model, prompts, sample.chosen, sample.rejected)
    timed = bench.time_rewardkit_path(twin, prompts, sample.chosen, sample.rejected)
    row = bench.compiled_result(timed, compile_seconds, (2 * timed[0], kit_chosen, kit_rejected), 4 * timed[0])
    assert row["speedup_vs_eager_rewardkit"] == 2.0 and row["speedup_vs_reference"] == 4.0
    assert row["speedup_vs_reference_counting_the_compile"] < 4.0
    assert row["max_abs_reward_diff_vs_rewardkit"] < 1e-5


def test_the_dense_mask_path_reads_no_tree_layout_and_gives_the_scorers_rewards(bench, tiny_model_dir, monkeypatch):
    from rewardkit.families import scalar

    reward_model = scalar.ScalarRewardModel.from_backbone(str(tiny_model_dir), device="cpu", precision="fp32")
    layouts = []
    monkeypatch.setattr(scalar, "tree_layout", lambda rows, device: layouts.append(len(rows)) or tree_layout(rows))
    args = argparse.Namespace(baseline_dtypes="fp32", dense_mask=True)
    paths = bench.paths_to_time(reward_model, args)
    assert list(paths) == ["rewardkit", "unshared", "dense mask", "reward-bench fp32"]
    prompts = ["What is 2 + 2?", "Name a colour.", "Spell cat."]
    sample = bench.Sample(prompts, ["4", "red", "c a t"], ["5", "loud", "dog"], prompts, prompts)
    kit = paths["rewardkit"](sample)
    assert layouts, "the scorer reads its packed rows with tree attention"
    layouts.clear()
    dense = paths["dense mask"](sample)
    assert not layouts, "its twin reads the dense tree mask"
    row = bench.dense_mask_result(dense, kit)
    assert row["max_abs_reward_diff_vs_rewardkit"] < 1e-5
    assert row["tree_attention_speedup"] == round(dense[0] / kit[0], 2)
