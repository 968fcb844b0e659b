"""The judge-run machinery: a trained judge saved and reloaded gives the same verdict probabilities; LoRA is merged."""

from __future__ import annotations

import json

import pytest
import torch

from rewardkit.families.generative import GenerativeJudge
from rewardkit.families.registry import load_reward_model
from rewardkit.models.loading import load_causal_lm
from rewardkit.training.config import OptimizerConfig, build_config
from rewardkit.training.judge_config import GenRMConfig
from rewardkit.training.judge_data import genrm_records, pairwise_examples
from rewardkit.training.judge_trainer import JudgeRun
from tests.training.judge_helpers import SMALL_LORA
from tests.training.test_judge_data import PAIRS

PROBE = (["What is 3 plus 7?", "What is 5 plus 7?"], ["10", "cba"], ["cba", "12"])


def _p_a_by_order(judge: GenerativeJudge) -> list[float]:
    """P([[A]]) read from the verdict token, for every probe pair in both orders."""
    return [
        probabilities["A"]
        for preference in judge.compare(*PROBE)
        for probabilities in preference.meta["verdict_probs_by_order"]
    ]


def test_a_saved_judge_reloads_with_the_same_verdict_logprobs(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")  # fp32 on both sides, so the comparison can be tight
    output = tmp_path / "judge"
    config = build_config(
        {"model": str(tiny_model_dir), "output_dir": str(output), "lora": SMALL_LORA, "precision": "fp32"},
        config_class=GenRMConfig,
    )
    run = JudgeRun(config)
    examples = pairwise_examples(run.judge(), PAIRS, both_orders=True, seed=0)
    before = _p_a_by_order(run.judge(mode="logprob", both_orders=True))
    report = run.sft(
        genrm_records(examples, run.judge().template), OptimizerConfig(max_steps=3, learning_rate=5e-3), "t"
    )
    trained = _p_a_by_order(run.judge(mode="logprob", both_orders=True))
    run.save(mode="logprob")

    reloaded = load_reward_model(str(output))
    assert report.steps == 3 and len(trained) == 4 and trained != pytest.approx(before, abs=1e-4)
    assert _p_a_by_order(reloaded) == pytest.approx(trained, abs=1e-5)
    assert not (output / "adapter_config.json").exists() and not (output / "trainer").exists()
    manifest = json.loads((output / "rewardkit.json").read_text())
    assert manifest == {
        "family": "judge",
        "model": ".",
        "judge": {"template": "pairwise-direct", "max_field_tokens": 192, "mode": "logprob"},
    }
    base = load_causal_lm(str(tiny_model_dir))
    weights = reloaded.engine.model.named_parameters()
    changed = [name for name, weight in weights if not torch.equal(weight, base.get_parameter(name))]
    assert changed and all("q_proj" in name or "v_proj" in name for name in changed)  # only the LoRA targets moved
