"""BTConfig from YAML: unknown keys and bad types name the file, line and key; --set overrides; shipped recipes."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from rewardkit.training.config import BTConfig, ConfigError, DataSourceConfig, apply_overrides, load_config

REPO_ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return path


def test_every_field_has_help_text():
    for config_class in (BTConfig, DataSourceConfig):
        for item in dataclasses.fields(config_class):
            assert item.metadata.get("help"), f"{config_class.__name__}.{item.name} has no help"


def test_unknown_key_error_names_file_line_and_key(tmp_path):
    path = _write(tmp_path, "model: default\nlearning_rte: 0.1\n")
    with pytest.raises(ConfigError, match=rf"{path}:2: unknown key 'learning_rte'") as error:
        load_config(path)
    assert "Known top-level keys" in str(error.value)


def test_unknown_nested_key_and_bad_value_are_located(tmp_path):
    path = _write(tmp_path, "lora:\n  rank: 8\ntrain:\n  - a.jsonl\n  - path: b.jsonl\n    builder: nope\n")
    with pytest.raises(ConfigError) as error:
        load_config(path)
    assert f"{path}:2: unknown key 'lora.rank'" in str(error.value)
    assert f"{path}:6: key 'train.1.builder'" in str(error.value)


def test_plain_paths_become_sources_and_types_are_coerced(tmp_path):
    path = _write(tmp_path, "train:\n  - a.jsonl\n  - {path: g.jsonl, builder: gsm8k, limit: 10}\nlora: {r: '4'}\n")
    config = load_config(path)
    assert config.train == [
        DataSourceConfig(path="a.jsonl"),
        DataSourceConfig(path="g.jsonl", builder="gsm8k", limit=10),
    ]
    assert config.lora.r == 4
    assert BTConfig(train=["x.jsonl"]).train == [DataSourceConfig(path="x.jsonl")]


def test_overrides_set_nested_keys_and_bad_overrides_name_the_flag(tmp_path):
    path = _write(tmp_path, "learning_rate: 0.001\n")
    config = load_config(path, ["learning_rate=5e-5", "lora.r=8", "synthetic={n: 10, seed: 2}"])
    assert (config.learning_rate, config.lora.r, config.synthetic.n, config.synthetic.seed) == (5e-5, 8, 10, 2)
    with pytest.raises(ConfigError, match="--set lora.rank=8: unknown key 'lora.rank'"):
        load_config(path, ["lora.rank=8"])
    with pytest.raises(ConfigError, match="expected key=value"):
        load_config(path, ["learning_rate"])


def test_apply_overrides_leaves_the_input_untouched():
    raw = {"lora": {"r": 16}}
    assert apply_overrides(raw, ["lora.r=2"]) == {"lora": {"r": 2}}
    assert raw == {"lora": {"r": 16}}


def test_missing_file_and_non_mapping_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_config(_write(tmp_path, "- a\n- b\n"))


@pytest.mark.parametrize(
    "name",
    [
        "bt_smoke",
        "bt_default",
        "bt_default_v1",
        "bt_ablation_truncation",
        "bt_ablation_negatives",
        "bt_first_sentences",
        "bt_default_v3",
    ],
)
def test_shipped_recipes_load_and_start_with_their_command(name):
    path = REPO_ROOT / "configs" / f"{name}.yaml"
    config = load_config(path)
    first_line = path.read_text().splitlines()[0]
    assert first_line == f"# rewardkit train bt --config configs/{name}.yaml --output runs/{name}"
    assert config.train or config.synthetic.n > 0


@pytest.mark.parametrize(
    ("name", "truncation", "text_format", "negatives", "openers"),
    [
        ("bt_default", "keep_end", "chat_template", 0.25, True),
        ("bt_default_v3", "keep_end", "chat_template", 0.25, True),
        ("bt_default_v2", "keep_end", "chat_template", 0.15, False),
        ("bt_default_v1", "keep_start", "chat_template_no_final_newline", 0.0, False),
        ("bt_ablation_truncation", "keep_end", "chat_template", 0.0, False),
        ("bt_ablation_negatives", "keep_start", "chat_template", 0.15, False),
    ],
)
def test_default_recipe_its_earlier_versions_and_the_ablations_differ_where_they_say(
    name, truncation, text_format, negatives, openers
):
    config = load_config(REPO_ROOT / "configs" / f"{name}.yaml")
    assert (config.response_truncation, config.text_format) == (truncation, text_format)
    assert (config.master_key_negatives.fraction, config.master_key_negatives.with_openers) == (negatives, openers)
    first_round = load_config(REPO_ROOT / "configs" / "bt_default_v2.yaml")
    if name.startswith("bt_ablation"):  # everything else as in the first round of issue 17
        assert config.train == first_round.train and config.learning_rate == first_round.learning_rate


def test_the_first_sentence_round_changes_only_the_share_of_cut_answers():
    default = load_config(REPO_ROOT / "configs" / "bt_default_v3.yaml")  # round 2, which round 3 changed
    round_3 = load_config(REPO_ROOT / "configs" / "bt_first_sentences.yaml")
    assert (default.master_key_negatives.first_sentence_share, round_3.master_key_negatives.first_sentence_share) == (
        0.25,
        0.6,
    )
    round_3.master_key_negatives.first_sentence_share = 0.25
    assert round_3 == default


def test_the_default_is_round_2_plus_synthetic_code_pairs_only():
    round_2 = load_config(REPO_ROOT / "configs" / "bt_default_v3.yaml")
    default = load_config(REPO_ROOT / "configs" / "bt_default.yaml")
    assert default.synthetic.tasks.count("code") == 3 and default.synthetic.n == 245
    assert round_2.synthetic.tasks == ["arithmetic", "counting", "string"] and round_2.synthetic.n == 125
    default.synthetic = round_2.synthetic
    assert default == round_2


def test_unknown_synthetic_task_is_a_located_error(tmp_path):
    path = _write(tmp_path, "synthetic:\n  n: 10\n  tasks: [arithmetic, poetry]\n")
    with pytest.raises(ConfigError, match="poetry"):
        load_config(path)
