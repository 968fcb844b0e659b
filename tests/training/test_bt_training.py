"""End-to-end BT training on the tiny model: saved model matches the trainer, seeded runs repeat, resume is exact."""

from __future__ import annotations

import json

import pytest
from transformers import TrainerCallback

from rewardkit.data.schema import PreferencePair
from rewardkit.families.scalar import ScalarRewardModel
from rewardkit.training.bt import train_bt
from rewardkit.training.bt_data import BTData
from rewardkit.training.config import BTConfig
from rewardkit.training.pairwise_trainer import checkpoints_dir

WORDS = ["apple", "banana", "cherry", "lemon", "mango", "grape", "melon", "peach"]


def _pairs(count: int) -> list[PreferencePair]:
    """Toy pairs: the chosen response repeats the word of the prompt, the rejected one names another word."""
    pairs = []
    for index in range(count):
        word, other = WORDS[index % len(WORDS)], WORDS[(index + 3) % len(WORDS)]
        pairs.append(
            PreferencePair(id=f"toy-{index}", prompt=f"Say the word {word}.", chosen=word, rejected=f"{other} " * 3)
        )
    return pairs


DATA = BTData(train=_pairs(24), eval=_pairs(8))


def _config(tiny_model_dir, output_dir, **overrides) -> BTConfig:
    settings = {
        "model": str(tiny_model_dir),
        "output_dir": str(output_dir),
        "precision": "fp32",
        "max_steps": 6,
        "per_device_train_batch_size": 4,
        "learning_rate": 5e-3,
        "save_steps": 3,
        "eval_steps": 3,
        "logging_steps": 1,
        "lora": {"r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj"]},
        "center_rewards_coefficient": 0.01,
        "seed": 7,
    }
    settings.update(overrides)
    from rewardkit.training.config import build_config

    return build_config(settings)


def _rewards(model_dir) -> list[float]:
    model = ScalarRewardModel.load(str(model_dir), precision="fp32")
    return model.rewards([pair.prompt for pair in DATA.eval], [pair.chosen for pair in DATA.eval])


class _CrashAtStep(TrainerCallback):
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise KeyboardInterrupt(f"simulated interruption at step {self.step}")


@pytest.fixture(scope="module")
def lora_run(tiny_model_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("bt-lora")
    return train_bt(_config(tiny_model_dir, output), data=DATA), output


def test_run_writes_model_log_and_eval_metrics(lora_run):
    result, output = lora_run
    assert result.global_step == 6 and result.train_pairs == 24 and result.eval_pairs == 8
    assert (output / "rewardkit.json").is_file() and (checkpoints_dir(output) / "checkpoint-6").is_dir()
    records = [json.loads(line) for line in (output / "train_log.jsonl").read_text().splitlines()]
    assert any("loss" in record for record in records)
    assert any("eval_accuracy" in record and "eval_mean_margin" in record for record in records)
    assert {"eval_loss", "eval_accuracy", "eval_mean_margin"} <= set(result.eval_metrics)
    assert json.loads((output / "train_result.json").read_text())["global_step"] == 6


def test_saved_model_reproduces_the_trainers_eval_metrics(lora_run):
    result, output = lora_run
    model = ScalarRewardModel.load(str(output), precision="fp32")
    assert not model.is_lora, "the adapter is merged into the weights at load"
    preferences = model.compare(
        [pair.prompt for pair in DATA.eval], [pair.chosen for pair in DATA.eval], [pair.rejected for pair in DATA.eval]
    )
    margins = [pref.diagnostics.scores[0] - pref.diagnostics.scores[1] for pref in preferences]
    assert sum(margin > 0 for margin in margins) / len(margins) == pytest.approx(result.eval_metrics["eval_accuracy"])
    assert sum(margins) / len(margins) == pytest.approx(result.eval_metrics["eval_mean_margin"], abs=1e-5)


def test_same_seed_gives_the_same_rewards(tiny_model_dir, tmp_path, lora_run):
    _, first_output = lora_run
    train_bt(_config(tiny_model_dir, tmp_path / "again"), data=DATA)
    assert _rewards(tmp_path / "again") == _rewards(first_output)


def test_resumed_run_equals_uninterrupted_run(tiny_model_dir, tmp_path, lora_run):
    _, uninterrupted = lora_run
    config = _config(tiny_model_dir, tmp_path / "resumed")
    with pytest.raises(KeyboardInterrupt):
        train_bt(config, data=DATA, callbacks=[_CrashAtStep(4)])
    assert not (tmp_path / "resumed" / "rewardkit.json").exists()
    with pytest.raises(FileExistsError, match="pass --resume"):
        train_bt(config, data=DATA)
    result = train_bt(config, data=DATA, resume=True)
    assert result.global_step == 6
    assert _rewards(tmp_path / "resumed") == pytest.approx(_rewards(uninterrupted), abs=1e-6)


def test_full_fine_tune_saves_a_full_model(tiny_model_dir, tmp_path):
    config = _config(tiny_model_dir, tmp_path / "full", adapter="full", max_steps=2, learning_rate=1e-3)
    result = train_bt(config, data=DATA)
    manifest = json.loads((tmp_path / "full" / "rewardkit.json").read_text())
    assert manifest["adapter"] == "full" and result.global_step == 2
    assert (tmp_path / "full" / "model.safetensors").is_file()


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_model_dir, tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        train_bt(_config(tiny_model_dir, tmp_path / "fresh"), data=DATA, resume=True)
