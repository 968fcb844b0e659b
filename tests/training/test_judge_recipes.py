"""Each judge recipe end to end through the CLI on the tiny model (a few pairs, two steps a round).

Sampled rationales come from a scripted engine (a random tiny model writes no verdicts), so the filtering, pairing
and TRL training of every round really run; one test keeps the real HFEngine to check that path.
"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.families.generative import GenerativeJudge
from rewardkit.families.registry import load_reward_model
from tests.training.judge_helpers import (
    SMALL_LORA,
    STEPS,
    alternating_verdicts,
    script_engine,
    spread_ratings,
    write_pairs,
    write_rated_rows,
    write_recipe,
)


def common(tiny_model_dir) -> dict:
    return {"model": str(tiny_model_dir), "precision": "fp32", "logging_steps": 1, "lora": SMALL_LORA, "seed": 3}


def train(recipe: str, settings: dict, tmp_path) -> tuple[list[dict], object]:
    """Run `rewardkit train RECIPE` and return the rounds log and the loaded judge."""
    config = write_recipe(tmp_path / f"{recipe}.yaml", settings)
    output = tmp_path / f"{recipe}-judge"
    result = CliRunner().invoke(app, ["train", recipe, "--config", str(config), "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert f"judge: {output}" in result.output
    rounds = [json.loads(line) for line in (output / "rounds.jsonl").read_text().splitlines()]
    return rounds, load_reward_model(str(output))


def test_genrm_trains_the_verdict_and_saves_a_logprob_judge(tiny_model_dir, tmp_path):
    settings = common(tiny_model_dir) | {
        "train": [str(write_pairs(tmp_path / "pairs.jsonl", 6))],
        "master_key_negatives": 0.5,
        "training": STEPS,
    }
    (record,), judge = train("genrm", settings, tmp_path)
    assert record["stage"] == "genrm" and record["pairs"] == 9 and record["train_steps"] == 2
    assert record["master_key_negatives"] == 3
    assert record["dropped_too_long"] == 0 and record["train_loss"] > 0
    assert isinstance(judge, GenerativeJudge) and judge.config.mode == "logprob"
    assert judge.template.name == "pairwise-direct" and judge.config.max_field_tokens == 192
    (preference,) = judge.compare(["What is 1 plus 7?"], ["8"], ["cba"])
    assert 0.0 <= preference.p_a_better <= 1.0 and len(preference.meta["verdict_probs_by_order"]) == 2


@pytest.mark.parametrize("recipe", ["star-sft", "star-rationalizer", "star-dpo"])
def test_star_recipes_run_two_rounds_of_sampling_and_training(recipe, tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, alternating_verdicts)
    settings = common(tiny_model_dir) | {
        "train": [str(write_pairs(tmp_path / "pairs.jsonl", 4))],
        "rounds": 2,
        "sampling": {"num_samples": 2, "max_new_tokens": 16},
        "training": STEPS,
    }
    (data, *rounds), judge = train(recipe, settings, tmp_path)
    assert data == {"stage": "data", "pairs": 4, "master_key_negatives": 0}
    assert [record["stage"] for record in rounds] == ["round-1", "round-2"]
    for record in rounds:
        assert record["master_key_records_kept"] == 0
        assert record["samples"] == 8 and record["parse_failures"] == 0 and record["agreement"] == 0.5
        assert record["kept"] == 4 and record["kept_by_label"] == {"A": 2, "B": 2}
        assert record["train_examples"] == 4 and record["train_steps"] == 2
    assert judge.config.mode == "sample" and judge.template.name == "pairwise"
    assert judge.config.max_new_tokens == 16


def test_self_rationalize_runs_sft_then_dpo_and_measures_agreement(tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, spread_ratings)
    settings = common(tiny_model_dir) | {
        "data": str(write_rated_rows(tmp_path / "rated.jsonl", 10)),
        "eval_rows": 3,
        "sft_rows": 3,
        "dpo_rows": 4,
        "rounds": 1,
        "sampling": {"num_samples": 3, "max_new_tokens": 16},
        "sft": STEPS,
        "dpo": STEPS,
    }
    rounds, judge = train("self-rationalize", settings, tmp_path)
    assert [(record["stage"], record.get("after")) for record in rounds] == [
        ("eval", "nothing"), ("sft", None), ("eval", "sft"), ("dpo-1", None), ("eval", "dpo-1"),
    ]  # fmt: skip
    evaluation = rounds[0]
    assert evaluation["n_items"] == 3 and evaluation["n_scored"] == 3 and evaluation["parse_failures"] == 0
    assert rounds[1]["train_examples"] == 3 and rounds[1]["unreadable_critiques"] == 0
    assert rounds[3]["dpo_pairs"] == 4 and rounds[3]["train_steps"] == 2
    output = tmp_path / "self-rationalize-judge"
    held_out = (output / "heldout.jsonl").read_text().splitlines()
    assert len(held_out) == 3 and "score" in json.loads(held_out[0])
    assert judge.pointwise_template.name == "pointwise-1-10" and judge.config.mode == "sample"
    measured = CliRunner().invoke(
        app, ["judge-agreement", "--judge", str(output), "--data", str(output / "heldout.jsonl")]
    )
    assert measured.exit_code == 0, measured.output
    agreement = json.loads(measured.stdout.strip().splitlines()[-1])["agreement"]
    assert agreement["n_items"] == 3 and agreement["n_scored"] + agreement["parse_failures"] == 3


@pytest.mark.parametrize("forced", [True, False])
def test_real_engine_round_reads_or_counts_missing_verdicts(forced, tiny_model_dir, tmp_path):
    settings = common(tiny_model_dir) | {
        "train": [str(write_pairs(tmp_path / "pairs.jsonl", 4))],
        "rounds": 1,
        "sampling": {"num_samples": 2, "max_new_tokens": 4},
        "verdict_after_rationale": forced,
        "training": STEPS,
    }
    (_, record), judge = train("star-dpo", settings, tmp_path)
    assert record["samples"] == 8 and record["rationales_per_second"] > 0  # a random model writes no verdict
    assert (record["forced_verdicts"], record["parse_failures"]) == ((8, 0) if forced else (0, 8))
    by_label = record["kept_by_label"]
    assert record["train_examples"] == (2 * min(by_label.values()) if len(by_label) == 2 else 0)  # balanced
    assert judge.config.verdict_after_rationale is forced


def test_bad_recipe_keys_and_an_existing_judge_are_user_errors(tiny_model_dir, tmp_path):
    bad = write_recipe(tmp_path / "bad.yaml", {"model": str(tiny_model_dir), "samples": 3})
    result = CliRunner().invoke(app, ["train", "star-sft", "--config", str(bad)])
    assert result.exit_code == 2 and "unknown key 'samples'" in result.output
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "rewardkit.json").write_text("{}")
    good = write_recipe(tmp_path / "good.yaml", common(tiny_model_dir) | {"train": ["unused.jsonl"]})
    result = CliRunner().invoke(app, ["train", "genrm", "--config", str(good), "--output", str(tmp_path / "taken")])
    assert result.exit_code == 1 and "already holds a saved model" in result.output
