"""CLoud stages 1 and 3 on the tiny model: run files, frozen head in SFT, saved model = trainer, exact resume."""

from __future__ import annotations

import json

import pytest
import torch
from transformers import TrainerCallback

from rewardkit.data.critiques import CritiqueRow, critiques_of
from rewardkit.families.cloud import CloudRewardModel, new_reward_head
from rewardkit.training.cloud import train_cloud, train_critique_sft
from rewardkit.training.cloud_config import CloudConfig, CritiqueSFTConfig
from rewardkit.training.cloud_data import oracle_critique_pairs
from rewardkit.training.config import build_config
from rewardkit.training.pairwise_trainer import checkpoints_dir
from tests.families.cloud_helpers import TINY_FORMAT
from tests.training.test_bt_training import _CrashAtStep as CrashAtStep

GOOD, BAD = "Right. Rating: [[9]]", "Wrong. Rating: [[2]]"


def _rows() -> list[CritiqueRow]:
    """Two answers per question: the right sum (score 9) and a wrong one (score 2), each with its critique."""
    rows = []
    for index in range(16):
        prompt = f"What is {index} plus 7?"
        rows.append(CritiqueRow(f"right-{index}", prompt, str(index + 7), GOOD, 9))
        rows.append(CritiqueRow(f"wrong-{index}", prompt, str(index + 17), BAD, 2))
    return rows


PAIRS = oracle_critique_pairs(_rows())
TRAINER_SETTINGS = {"precision": "fp32", "logging_steps": 1, "eval_steps": 2, "save_steps": 2, "seed": 5}


@pytest.fixture(autouse=True, scope="module")
def no_bf16():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REWARDKIT_PRECISION", "fp32")
        yield


def _sft_config(model_dir, output_dir) -> CritiqueSFTConfig:
    settings = {"model": str(model_dir), "output_dir": str(output_dir), "critique": vars(TINY_FORMAT)}
    settings |= {"max_steps": 4, "per_device_train_batch_size": 4, "learning_rate": 5e-3, "eval_fraction": 0.25}
    return build_config(settings | TRAINER_SETTINGS, config_class=CritiqueSFTConfig)


def _cloud_config(critic_dir, output_dir, **overrides) -> CloudConfig:
    settings = {"model": str(critic_dir), "output_dir": str(output_dir), "max_steps": 4, "learning_rate": 5e-3}
    settings |= {"per_device_train_batch_size": 2, "adapter": "lora", "lm_weight": 1.25}
    settings["lora"] = {"r": 4, "alpha": 8, "dropout": 0.0, "target_modules": ["q_proj", "v_proj"]}
    return build_config(settings | TRAINER_SETTINGS | overrides, config_class=CloudConfig)


@pytest.fixture(scope="module")
def sft_run(tiny_model_dir, tmp_path_factory, no_bf16):
    output = tmp_path_factory.mktemp("cloud-sft")
    return train_critique_sft(_sft_config(tiny_model_dir, output), rows=_rows()), output


@pytest.fixture(scope="module")
def cloud_run(sft_run, tmp_path_factory):
    output = tmp_path_factory.mktemp("cloud")
    return train_cloud(_cloud_config(sft_run[1], output), pairs=(PAIRS[:12], PAIRS[12:])), output


def test_sft_writes_a_cloud_model_and_its_log(sft_run):
    result, output = sft_run
    assert (result.global_step, result.examples.train, result.examples.eval) == (4, 24, 8)
    manifest = json.loads((output / "rewardkit.json").read_text())
    assert manifest["family"] == "cloud" and manifest["critique_format"]["request"] == TINY_FORMAT.request
    records = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    eval_losses = [record["eval_loss"] for record in records if "eval_loss" in record]
    assert len(eval_losses) == 2 and eval_losses[-1] < eval_losses[0]
    assert (checkpoints_dir(output) / "checkpoint-4" / "trainable_state.safetensors").is_file()


def test_sft_trains_the_lm_but_leaves_the_seeded_reward_head_untouched(sft_run, tiny_model_dir):
    critic = CloudRewardModel.load(sft_run[1], precision="fp32")
    torch.manual_seed(5)
    initial_head = new_reward_head(critic.network.language_model.config)
    torch.testing.assert_close(critic.network.reward_head.weight, initial_head.weight)
    base = CloudRewardModel.from_backbone(str(tiny_model_dir), TINY_FORMAT, precision="fp32")
    assert not torch.equal(base.network.language_model.lm_head.weight, critic.network.language_model.lm_head.weight)


def test_saved_cloud_model_reproduces_the_trainers_eval_metrics(cloud_run):
    result, output = cloud_run
    model = CloudRewardModel.load(output, precision="fp32")
    held_out = PAIRS[12:]
    critiques = [critiques_of(pair) for pair in held_out]
    chosen = model.critique_rewards(
        [p.prompt for p in held_out], [p.chosen for p in held_out], [[c] for c, _ in critiques]
    )
    rejected = model.critique_rewards(
        [p.prompt for p in held_out], [p.rejected for p in held_out], [[r] for _, r in critiques]
    )
    margins = [c[0] - r[0] for c, r in zip(chosen, rejected, strict=True)]
    assert sum(m > 0 for m in margins) / len(margins) == pytest.approx(result.eval_metrics["eval_accuracy"])
    assert sum(margins) / len(margins) == pytest.approx(result.eval_metrics["eval_mean_margin"], abs=1e-5)
    assert not (output / "adapter_config.json").exists(), "LoRA must be merged into the saved causal LM"


class _CrashAtStep(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:  # after checkpoint-2 was written
            raise KeyboardInterrupt("simulated interruption at step 3")


def test_resumed_stage_three_equals_the_uninterrupted_run(sft_run, cloud_run, tmp_path):
    config = _cloud_config(sft_run[1], tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        train_cloud(config, pairs=(PAIRS[:12], PAIRS[12:]), callbacks=[_CrashAtStep()])
    with pytest.raises(FileExistsError, match="pass --resume"):
        train_cloud(config, pairs=(PAIRS[:12], PAIRS[12:]))
    result = train_cloud(config, pairs=(PAIRS[:12], PAIRS[12:]), resume=True)
    assert result.global_step == 4
    assert result.eval_metrics["eval_mean_margin"] == pytest.approx(
        cloud_run[0].eval_metrics["eval_mean_margin"], abs=1e-6
    )


def test_stage_three_killed_in_its_second_epoch_resumes_to_the_uninterrupted_run(sft_run, tmp_path):
    pairs = (PAIRS[:12], PAIRS[12:])
    two_epochs = 2 * len(pairs[0]) // 2  # per_device_train_batch_size 2
    whole = train_cloud(_cloud_config(sft_run[1], tmp_path / "whole", max_steps=two_epochs), pairs=pairs)
    config = _cloud_config(sft_run[1], tmp_path / "resumed", max_steps=two_epochs)
    with pytest.raises(KeyboardInterrupt):
        train_cloud(config, pairs=pairs, callbacks=[CrashAtStep(two_epochs - 3)])  # after checkpoint-8, in epoch 2
    result = train_cloud(config, pairs=pairs, resume=True)
    assert result.global_step == two_epochs
    assert result.eval_metrics["eval_mean_margin"] == pytest.approx(whole.eval_metrics["eval_mean_margin"], abs=1e-6)


def test_lambda_zero_trains_the_reward_head_only(sft_run, tmp_path):
    config = _cloud_config(sft_run[1], tmp_path / "bt-only", lm_weight=0.0, adapter="full", max_steps=2)
    result = train_cloud(config, pairs=(PAIRS[:12], PAIRS[12:]))
    assert result.global_step == 2 and "eval_accuracy" in result.eval_metrics
