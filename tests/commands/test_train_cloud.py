"""`rewardkit train cloud-sft | cloud-critiques | cloud`, then `rewardkit eval --model cloud:DIR` (tiny model)."""

from __future__ import annotations

import json

import pytest
import torch
import yaml
from typer.testing import CliRunner

from rewardkit.cli import app
from tests.families.cloud_helpers import TINY_FORMAT

TRAINER = {"precision": "fp32", "max_steps": 2, "per_device_train_batch_size": 2, "logging_steps": 1, "save_steps": 2}


@pytest.fixture(autouse=True)
def tiny_model_settings(monkeypatch):
    """fp32 (no bf16 autocast) and one torch thread: on a shared 2-core machine more threads only contend."""
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def _jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def _recipe(path, settings):
    path.write_text(yaml.safe_dump(settings))
    return str(path)


def _invoke(*arguments):
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == 0, result.output
    return result.output


def test_three_stages_then_eval(tiny_model_dir, tmp_path):
    rows = [
        {"id": f"r{i}", "prompt": f"What is {i} plus 7?", "response": str(i + 7 + i % 2), "score": 9 - 7 * (i % 2)}
        | {"critique": "Right. Rating: [[9]]" if i % 2 == 0 else "Wrong. Rating: [[2]]"}
        for i in range(8)
    ]
    pairs = [
        {"id": f"p{i}", "prompt": f"What is {i} plus 7?", "chosen": str(i + 7), "rejected": "no idea"}
        for i in range(6)
    ]
    pairs_file = str(_jsonl(tmp_path / "pairs.jsonl", pairs))
    critic, critiques, model = (str(tmp_path / name) for name in ("sft", "gen", "cloud"))

    sft = {"model": str(tiny_model_dir), "critiques": str(_jsonl(tmp_path / "rows.jsonl", rows))}
    sft |= {"critique": vars(TINY_FORMAT), "eval_fraction": 0.25, **TRAINER}
    output = _invoke("train", "cloud-sft", "--config", _recipe(tmp_path / "sft.yaml", sft), "--output", critic)
    assert "critic: " in output and "critique LM loss" in output

    generation = _recipe(tmp_path / "gen.yaml", {"model": critic, "train": [pairs_file], "precision": "fp32"})
    assert "critiqued 6 pairs" in _invoke("train", "cloud-critiques", "--config", generation, "--output", critiques)

    stage3 = {"model": critic, "train": [f"{critiques}/critiques.jsonl"], "eval_fraction": 0.34, **TRAINER}
    recipe = _recipe(tmp_path / "cloud.yaml", stage3)
    assert "held-out pairs" in _invoke(
        "train", "cloud", "--config", recipe, "--output", model, "--set", "lm_weight=0.5"
    )
    assert yaml.safe_load((tmp_path / "cloud" / "train_config.yaml").read_text())["lm_weight"] == 0.5

    spec, report = f"cloud:{model}?num_samples=2&temperature=0.8&precision=fp32", str(tmp_path / "report")
    _invoke("eval", "--model", spec, "--data", pairs_file, "--report", report, "--bootstrap", "20", "--no-progress")
    assert json.loads((tmp_path / "report" / "report.json").read_text())["meta"]["n_rows"] == 6


def test_a_bad_recipe_key_exits_2_naming_the_line(tmp_path):
    recipe = _recipe(tmp_path / "bad.yaml", {"model": "default", "lm_wieght": 1.0})
    result = CliRunner().invoke(app, ["train", "cloud", "--config", recipe])
    assert result.exit_code == 2 and f"{recipe}:1: unknown key 'lm_wieght'" in result.output


def test_a_missing_critic_exits_1_with_one_line(tmp_path):
    recipe = _recipe(tmp_path / "gen.yaml", {"model": str(tmp_path / "nowhere"), "train": ["pairs.jsonl"]})
    result = CliRunner().invoke(app, ["train", "cloud-critiques", "--config", recipe])
    assert result.exit_code == 1 and "rewardkit.json is missing" in result.output
