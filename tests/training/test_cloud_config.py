"""CLoud recipe configs: the shipped YAMLs load and start with their command; bad keys name the file and line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rewardkit.training.cloud_config import (
    CloudConfig,
    CritiquedPairSourceConfig,
    CritiqueGenerationConfig,
    CritiqueSFTConfig,
)
from rewardkit.training.config import BTConfig, ConfigError, load_config

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
RECIPES = {
    "cloud_sft": ("cloud-sft", CritiqueSFTConfig),
    "cloud_critiques": ("cloud-critiques", CritiqueGenerationConfig),
    "cloud": ("cloud", CloudConfig),
    "cloud_oracle": ("cloud", CloudConfig),
}


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_shipped_recipes_load_and_start_with_their_command(name):
    command, config_class = RECIPES[name]
    path = CONFIGS / f"{name}.yaml"
    assert (
        path.read_text().splitlines()[0]
        == f"# rewardkit train {command} --config configs/{name}.yaml --output runs/{name}"
    )
    assert isinstance(load_config(path, [], config_class), config_class)


def test_every_field_has_help_text():
    for config_class in (CritiqueSFTConfig, CritiqueGenerationConfig, CloudConfig, CritiquedPairSourceConfig):
        for item in dataclasses.fields(config_class):
            assert item.metadata.get("help"), f"{config_class.__name__}.{item.name} has no help"


def test_classic_bt_recipe_holds_out_the_same_pairs_as_cloud():
    cloud = load_config(CONFIGS / "cloud.yaml", [], CloudConfig)
    bt = load_config(CONFIGS / "bt_cloud_pairs.yaml")
    assert isinstance(bt, BTConfig) and [source.path for source in bt.train] == [source.path for source in cloud.train]
    for name in ("eval_fraction", "max_eval_pairs", "max_train_pairs", "seed", "learning_rate"):
        assert getattr(bt, name) == getattr(cloud, name), name


def test_nested_bad_keys_and_values_name_the_line(tmp_path):
    path = tmp_path / "sft.yaml"
    path.write_text("model: default\ncritique:\n  max_new_token: 64\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: unknown key 'critique.max_new_token'"):
        load_config(path, [], CritiqueSFTConfig)
    path.write_text("train:\n  - path: a.jsonl\n    builder: gold\n")
    with pytest.raises(ConfigError, match=rf"{path}:3: key 'train.0.builder'"):
        load_config(path, [], CloudConfig)


def test_plain_paths_become_critiques_sources_and_overrides_apply(tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_text("train:\n  - runs/x/critiques.jsonl\n")
    overrides = ["lm_weight=0.5", "sampling.num_samples=4", "sampling.temperature=0.7"]
    config = load_config(path, overrides, CloudConfig)
    assert config.train == [CritiquedPairSourceConfig(path="runs/x/critiques.jsonl")]
    assert (config.lm_weight, config.sampling.num_samples, config.sampling.temperature) == (0.5, 4, 0.7)
    with pytest.raises(ConfigError, match="greedy critiques would all be the same"):
        load_config(path, ["sampling.num_samples=4"], CloudConfig)


def test_older_key_spellings_still_load_with_a_note_naming_the_line(tmp_path):
    path = tmp_path / "cloud.yaml"
    path.write_text("train:\n  - runs/x/critiques.jsonl\nsampling:\n  k: 4\n  temperature: 0.7\n")
    with pytest.warns(FutureWarning, match=rf"{path}:4: 'k' is deprecated, write 'num_samples'"):
        config = load_config(path, [], CloudConfig)
    assert config.sampling.num_samples == 4
    with pytest.raises(ConfigError, match="both 'k' and 'num_samples' are set"):
        load_config(path, ["sampling.num_samples=2"], CloudConfig)
