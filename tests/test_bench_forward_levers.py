"""bench/bench_forward_levers.py: which forms it times on each precision, that storing the Linear weights in bf16
leaves autocast's scores bit-identical, and the alternating order."""

from __future__ import annotations

import pytest
import torch

from rewardkit.families.scalar import ScalarRewardModel
from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_forward_levers.py")


def test_bf16_forms_and_linear_weights_stored_bf16_score_bit_identically(bench, tiny_model_dir):
    scorer = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="bf16")
    named = bench.forms(scorer, compile_too=False)
    assert list(named) == ["autocast", "autocast, linear weights stored bf16", "bf16 weights"]
    inputs, ends = bench.packed_pair_rows(3, 16, scorer.model.config.vocab_size)
    assert inputs["input_ids"].shape == (3, 16) and inputs["position_ids"][0].tolist()[8:] == [8, 9, 10, 11] * 2
    assert ends.tolist() == [[11, 15]] * 3
    _, scores = bench.first_calls(named, inputs)
    assert torch.equal(scores["autocast"], scores["autocast, linear weights stored bf16"])
    assert not torch.equal(scores["autocast"], scores["bf16 weights"]), "the residual stream in bf16 rounds"
    assert scorer.model.score.weight.dtype == torch.float32, "the scorer's own weights are left as they were"


def test_fp32_times_the_plain_forward_only_and_alternates(bench, tiny_model_dir):
    scorer = ScalarRewardModel.from_backbone(str(tiny_model_dir), precision="fp32")
    calls = []
    named = {name: (lambda ids, name=name: calls.append(name)) for name in bench.forms(scorer, compile_too=False)}
    named["other"] = lambda ids: calls.append("other")
    seconds = bench.time_alternating(named, {}, rounds=3)
    assert list(bench.forms(scorer, compile_too=False)) == ["fp32"]
    assert calls == ["fp32", "other", "other", "fp32", "fp32", "other"] and set(seconds) == {"fp32", "other"}
