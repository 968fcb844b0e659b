"""Judge recipe configs: every shipped YAML loads as its recipe's class and starts with the command that runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from rewardkit.commands.train_judges import JUDGE_RECIPES
from rewardkit.training import judge_config
from rewardkit.training.config import ConfigError, build_config, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RECIPE_FILES = {
    "genrm": "genrm.yaml",
    "star-sft": "star_sft.yaml",
    "star-rationalizer": "star_rationalizer.yaml",
    "star-dpo": "star_dpo.yaml",
    "self-rationalize": "self_rationalize.yaml",
}


@pytest.mark.parametrize("recipe", sorted(RECIPE_FILES))
def test_shipped_recipe_loads_and_names_its_command(recipe):
    path = CONFIGS / RECIPE_FILES[recipe]
    config = load_config(path, [], getattr(judge_config, JUDGE_RECIPES[recipe][0]))
    first_line = path.read_text().splitlines()[0]
    assert first_line.startswith(f"# rewardkit train {recipe} --config configs/{RECIPE_FILES[recipe]} --output runs/")
    assert config.model == "default" and config.adapter == "lora"
    header = path.read_text()
    assert "Measured (" in header or "Cost (" in header  # every recipe states what it costs


def test_overrides_reach_nested_fields_and_bad_values_name_the_key():
    path = CONFIGS / "star_dpo.yaml"
    config = load_config(path, ["sampling.num_samples=2", "rounds=1"], judge_config.StarDPOConfig)
    assert config.sampling.num_samples == 2 and config.rounds == 1 and config.beta == 0.1
    with pytest.raises(ConfigError, match=r"star_dpo.yaml:\d+: key .sampling.: .*temperature must be > 0"):
        load_config(path, ["sampling.temperature=0"], judge_config.StarDPOConfig)
    with pytest.raises(ConfigError, match="unknown key 'hint_samples'"):
        load_config(path, ["hint_samples=2"], judge_config.StarDPOConfig)
    with pytest.raises(ConfigError, match="master_key_negatives.fraction must be a fraction"):
        build_config({"master_key_negatives": 1.5}, config_class=judge_config.GenRMConfig)
