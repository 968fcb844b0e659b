"""report_to, run_name, DeepSpeed and FSDP settings of any recipe reach transformers' TrainingArguments."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rewardkit.training.cloud_config import CloudConfig
from rewardkit.training.config import BTConfig, OptimizerConfig, load_config
from rewardkit.training.judge_config import StarDPOConfig
from rewardkit.training.judge_trainer import JudgeRun
from rewardkit.training.pairwise_trainer import trainer_recipe_arguments
from tests.training.judge_helpers import SMALL_LORA

INTEGRATIONS = {
    "report_to": ["tensorboard", "wandb"],
    "run_name": "bt-8gpu",
    "fsdp": True,
    "fsdp_config": {"transformer_layer_cls_to_wrap": ["LlamaDecoderLayer"]},
}


@pytest.mark.parametrize("config_class", [BTConfig, CloudConfig, StarDPOConfig])
def test_every_recipe_accepts_the_trainer_integration_keys(config_class, tmp_path):
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump({**INTEGRATIONS, "deepspeed": "ds_zero2.json"}))
    config = load_config(recipe, [], config_class=config_class)
    assert config.trainer_integrations() == {**INTEGRATIONS, "deepspeed": "ds_zero2.json"}


def test_trainer_recipes_pass_them_to_training_arguments(tmp_path):
    arguments = trainer_recipe_arguments(BTConfig(**INTEGRATIONS), tmp_path, has_eval=False)
    assert arguments.report_to == ["tensorboard", "wandb"] and arguments.run_name == "bt-8gpu"
    assert arguments.fsdp and arguments.fsdp_config["transformer_layer_cls_to_wrap"] == ["LlamaDecoderLayer"]
    assert trainer_recipe_arguments(BTConfig(), tmp_path, has_eval=False).report_to == []


def test_a_deepspeed_config_reaches_the_trainer(tmp_path):
    """transformers checks for the deepspeed package once it is handed a DeepSpeed config: the check firing here
    shows the setting got there (the package is not installed on this CPU machine)."""
    try:
        import deepspeed  # noqa: F401
    except ImportError:
        with pytest.raises(Exception, match="deepspeed"):
            trainer_recipe_arguments(BTConfig(deepspeed={"zero_optimization": {"stage": 2}}), tmp_path, False)
    else:
        arguments = trainer_recipe_arguments(BTConfig(deepspeed={"zero_optimization": {"stage": 2}}), tmp_path, False)
        assert arguments.deepspeed == {"zero_optimization": {"stage": 2}}


def test_judge_stages_pass_them_to_trls_configs(tiny_model_dir, tmp_path):
    from trl import DPOConfig

    config = StarDPOConfig(
        model=str(tiny_model_dir), output_dir=str(tmp_path / "judge"), lora=SMALL_LORA, **INTEGRATIONS
    )
    arguments = JudgeRun(config)._arguments(DPOConfig, OptimizerConfig(max_steps=1), "dpo-1", beta=0.1)
    assert arguments.report_to == ["tensorboard", "wandb"] and arguments.fsdp
    assert Path(arguments.output_dir) == tmp_path / "judge" / "trainer" / "dpo-1"
