"""`--resume` of the judge recipes: an interrupted run continues after its last finished unit and ends with the
weights and round records an uninterrupted run has; a wrong resume is refused with what to do."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.training.config import build_config
from rewardkit.training.judge_config import SelfRationalizeConfig, StarDPOConfig
from rewardkit.training.judge_trainer import RESUME_DIR, RESUME_STATE, JudgeRun
from rewardkit.training.self_rationalize import train_self_rationalize
from rewardkit.training.star import train_star
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

TIMINGS = {"train_seconds", "seconds_per_step", "sampling_seconds", "rationales_per_second"}


class Interrupted(Exception):
    """Stands for a kill in the middle of a training stage."""


def star_config(tiny_model_dir, tmp_path, output: str, **changes) -> StarDPOConfig:
    settings = {
        "model": str(tiny_model_dir),
        "output_dir": str(tmp_path / output),
        "precision": "fp32",
        "lora": SMALL_LORA,
        "seed": 3,
        "train": [str(write_pairs(tmp_path / "pairs.jsonl", 4))],
        "rounds": 3,
        "sampling": {"num_samples": 2, "max_new_tokens": 16},
        "training": STEPS,
    }
    return build_config(settings | changes, config_class=StarDPOConfig)


def interrupt_training_call(monkeypatch, stage_method: str, call: int) -> None:
    """Make JudgeRun.`stage_method` raise Interrupted on its `call`-th call (1-based), after the earlier ones ran."""
    original = getattr(JudgeRun, stage_method)
    calls = []

    def interrupted_on_call(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == call:
            raise Interrupted(f"killed in {stage_method} call {call}")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(JudgeRun, stage_method, interrupted_on_call)


def without_timings(records: list[dict]) -> list[dict]:
    return [{key: value for key, value in record.items() if key not in TIMINGS} for record in records]


def saved_weights(directory) -> dict[str, torch.Tensor]:
    return load_file(str(directory / "model.safetensors"))


def assert_same_weights(first, second) -> None:
    assert first.keys() == second.keys()
    for name in first:
        torch.testing.assert_close(first[name], second[name], rtol=0, atol=1e-6, msg=name)


def test_an_interrupted_star_run_resumes_to_what_an_uninterrupted_run_trains(tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, alternating_verdicts)
    whole = train_star(star_config(tiny_model_dir, tmp_path, "whole"))

    with monkeypatch.context() as patch:
        interrupt_training_call(patch, "dpo", call=3)
        with pytest.raises(Interrupted):
            train_star(star_config(tiny_model_dir, tmp_path, "cut"))
    cut = tmp_path / "cut"
    state = json.loads((cut / RESUME_DIR / RESUME_STATE).read_text())
    assert state["units"] == 3 and [record["stage"] for record in state["rounds"]] == ["data", "round-1", "round-2"]
    assert sorted(path.name for path in (cut / RESUME_DIR).iterdir()) == [RESUME_STATE, "weights-3"]

    resumed = train_star(star_config(tiny_model_dir, tmp_path, "cut"), resume=True)
    assert without_timings(resumed.rounds) == without_timings(whole.rounds)
    assert resumed.rounds[:3] == state["rounds"]  # finished rounds are not run again
    logged = [json.loads(line) for line in (cut / "rounds.jsonl").read_text().splitlines()]
    assert logged == resumed.rounds
    assert_same_weights(saved_weights(cut), saved_weights(tmp_path / "whole"))
    assert not (cut / RESUME_DIR).exists() and (cut / "rewardkit.json").is_file()


def test_a_self_rationalize_run_resumes_after_its_last_finished_stage(tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, spread_ratings)
    settings = {
        "model": str(tiny_model_dir),
        "precision": "fp32",
        "lora": SMALL_LORA,
        "seed": 3,
        "data": str(write_rated_rows(tmp_path / "rated.jsonl", 10)),
        "eval_rows": 3,
        "sft_rows": 3,
        "dpo_rows": 4,
        "rounds": 2,
        "sampling": {"num_samples": 3, "max_new_tokens": 16},
        "sft": STEPS,
        "dpo": STEPS,
    }

    def config(output: str) -> SelfRationalizeConfig:
        return build_config(settings | {"output_dir": str(tmp_path / output)}, config_class=SelfRationalizeConfig)

    whole = train_self_rationalize(config("whole"))
    stages = [record["stage"] + record.get("after", "") for record in whole.rounds]
    assert stages == ["evalnothing", "sft", "evalsft", "dpo-1", "evaldpo-1", "dpo-2", "evaldpo-2"]
    with monkeypatch.context() as patch:
        interrupt_training_call(patch, "dpo", call=2)
        with pytest.raises(Interrupted):
            train_self_rationalize(config("cut"))
    resumed = train_self_rationalize(config("cut"), resume=True)
    assert without_timings(resumed.rounds) == without_timings(whole.rounds)
    assert_same_weights(saved_weights(tmp_path / "cut"), saved_weights(tmp_path / "whole"))


def test_a_wrong_resume_is_refused_with_what_to_do(tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, alternating_verdicts)
    with pytest.raises(FileNotFoundError, match=r"no interrupted run there\); run without --resume"):
        train_star(star_config(tiny_model_dir, tmp_path, "nothing"), resume=True)
    with monkeypatch.context() as patch:
        interrupt_training_call(patch, "dpo", call=1)
        with pytest.raises(Interrupted):
            train_star(star_config(tiny_model_dir, tmp_path, "cut"))
    with pytest.raises(FileExistsError, match="holds an interrupted run .* pass --resume"):
        train_star(star_config(tiny_model_dir, tmp_path, "cut"))
    with pytest.raises(ValueError, match="differs from the interrupted run's in beta, rounds"):
        train_star(star_config(tiny_model_dir, tmp_path, "cut", rounds=2, beta=0.5), resume=True)


def test_the_cli_resumes_a_judge_recipe(tiny_model_dir, tmp_path, monkeypatch):
    script_engine(monkeypatch, alternating_verdicts)
    settings = star_config(tiny_model_dir, tmp_path, "unused", rounds=2).to_dict()
    recipe = write_recipe(tmp_path / "star.yaml", {k: v for k, v in settings.items() if k != "output_dir"})
    command = ["train", "star-dpo", "--config", str(recipe), "--output", str(tmp_path / "judge")]
    with monkeypatch.context() as patch:
        interrupt_training_call(patch, "dpo", call=2)
        with pytest.raises(Interrupted):
            CliRunner().invoke(app, command, catch_exceptions=False)
    refused = CliRunner().invoke(app, command)
    assert refused.exit_code != 0 and "pass --resume to continue it" in refused.output
    result = CliRunner().invoke(app, [*command, "--resume"])
    assert result.exit_code == 0, result.output
    assert "stage=round-1" in result.output and "stage=round-2" in result.output
    assert (tmp_path / "judge" / "rewardkit.json").is_file()
