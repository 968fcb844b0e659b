"""The main job end to end on the tiny model: trains, evaluates the BT model next to the baselines, summarizes."""

from __future__ import annotations

import json

import pytest
import torch

from rewardkit.commands.quickstart_cmd import BATCH_SIZE, QuickstartConfig, run_quickstart
from rewardkit.training.time_budget import plan_steps


@pytest.fixture(autouse=True)
def single_torch_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def test_quickstart_writes_summary_with_every_model(tiny_model_dir, shared_data, tmp_path):
    config = QuickstartConfig(
        output=tmp_path / "run",
        model=str(tiny_model_dir),
        n_eval=16,
        max_steps=2,
        dev_file=shared_data / "eval" / "rewardbench_like_dev.jsonl",
        dev_per_category=2,
    )

    summary = run_quickstart(config)

    totals = json.loads((config.output / "summary.json").read_text())
    assert set(totals["synthetic_accuracy"]) == {"bt-quickstart", "random", "longer", "loglik"}
    assert set(totals["dev_slice_mean_of_sections"]) == {"bt-quickstart", "random", "longer", "loglik"}
    assert "bt-quickstart" in summary.read_text()
    assert (config.output / "reports" / "dev" / "loglik" / "report.json").is_file()


def test_quickstart_without_dev_file_still_reports_synthetic(tiny_model_dir, tmp_path):
    config = QuickstartConfig(
        output=tmp_path / "run",
        model=str(tiny_model_dir),
        n_eval=16,
        max_steps=1,
        dev_file=tmp_path / "absent.jsonl",
    )

    run_quickstart(config)

    totals = json.loads((config.output / "summary.json").read_text())
    assert "dev_slice_mean_of_sections" not in totals
    assert len(totals["synthetic_accuracy"]) == 4


def test_quickstart_sizes_its_steps_to_the_budget_and_says_why(tiny_model_dir, tmp_path):
    """A tiny model on any machine fits far more than 3 steps in a minute: the plan takes the ceiling and says so."""
    config = QuickstartConfig(
        output=tmp_path / "run",
        model=str(tiny_model_dir),
        budget_minutes=1.0,
        min_steps=1,
        bf16_min_steps=1,
        ceiling_steps=3,
        n_eval=16,
        dev_file=tmp_path / "absent.jsonl",
    )
    announced: list[str] = []

    summary = run_quickstart(config, announce=announced.append)

    totals = json.loads((config.output / "summary.json").read_text())
    assert totals["steps"] == totals["plan"]["steps"] == 3
    assert totals["plan"]["train_pairs"] == 3 * BATCH_SIZE
    assert "capped at 3" in totals["plan"]["reason"]
    assert announced and announced[0].startswith("plan: 3 LoRA steps") and "ETA" in announced[0]
    assert "Sized to this machine: plan: 3 LoRA steps" in summary.read_text()
    assert not (config.output / "probe").exists(), "the probe's throw-away model is removed"


@pytest.mark.parametrize(
    ("available", "expected_steps", "reason"),
    [(100.0, 50, "fill the 100 s"), (10.0, 20, "the floor is 20 steps"), (1000.0, 300, "capped at 300")],
)
def test_plan_steps_fits_the_budget_within_floor_and_ceiling(available, expected_steps, reason):
    plan = plan_steps(available, seconds_per_step=2.0, floor_steps=20, ceiling_steps=300)
    assert plan.steps == expected_steps
    assert reason in plan.reason
    assert plan.fitting_steps == int(available // 2.0)


def test_training_stops_at_the_deadline_when_the_machine_is_slower_than_planned(tiny_model_dir, tmp_path):
    config = QuickstartConfig(
        output=tmp_path / "run",
        model=str(tiny_model_dir),
        budget_minutes=0.001,
        max_steps=5,
        n_eval=16,
        dev_file=tmp_path / "absent.jsonl",
    )

    summary = run_quickstart(config)

    assert json.loads((config.output / "summary.json").read_text())["steps"] == 1
    assert "training stopped at the deadline after step 1 of 5" in summary.read_text()


def test_the_deadline_keeps_the_floor_the_plan_announced_and_still_catches_a_slowdown():
    from rewardkit.commands.quickstart_cmd import SLOWDOWN_SLACK, training_deadline

    # 40 floor steps of 8 s cannot end by a budget deadline 24 s away: training gets their time, with slack
    assert training_deadline(124.0, 100.0, 40, 8.0) == 100.0 + SLOWDOWN_SLACK * 320.0
    # steps that fit end before the budget's deadline, which stays the limit
    assert training_deadline(500.0, 100.0, 10, 8.0) == 500.0


def test_a_slow_evaluation_is_cut_to_its_share_of_the_time(tmp_path):
    from rewardkit.commands.quickstart_cmd import EVALUATION_SHARE, EvaluationSets, _shrunk_to_share
    from rewardkit.data.schema import PreferencePair

    def pair(index: int, category: str) -> PreferencePair:
        return PreferencePair(f"{category}-{index}", "q", "a", "b", category=category)

    dev = [pair(index, category) for category in ("chat", "safety") for index in range(40)]
    synthetic = [pair(index, "train") for index in range(200)]
    config = QuickstartConfig(output=tmp_path)
    sets, rows, estimate, why = _shrunk_to_share(config, EvaluationSets(synthetic, dev), 1000.0, 400.0)
    assert len(sets.synthetic) == 100 and len(sets.dev) == 2 * 10 and rows == 10
    assert estimate <= 1000.0 * (100 + 20) / (200 + 80) + 1e-9
    assert f"over {EVALUATION_SHARE:.0%} of the 400 s left" in why
    unchanged = _shrunk_to_share(config, EvaluationSets(synthetic, dev), 100.0, 400.0)
    assert unchanged[0].synthetic == synthetic and unchanged[1] == config.master_key_rows and unchanged[3] == ""
