"""The main job end to end on the tiny model: trains, evaluates the BT model next to the baselines, summarizes."""

from __future__ import annotations

import json
import math
from pathlib import Path

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
    assert totals["pair_packing"] is True and "pairs packed, a pair's prompt read once" in summary.read_text()
    assert (config.output / "reports" / "dev" / "loglik" / "report.json").is_file()


def _one_step_without_dev_file(tiny_model_dir, tmp_path, **overrides) -> QuickstartConfig:
    options = dict(model=str(tiny_model_dir), n_eval=16, max_steps=1, dev_file=tmp_path / "absent.jsonl")
    return QuickstartConfig(output=tmp_path / "run", **(options | overrides))


def test_quickstart_without_dev_file_still_reports_synthetic(tiny_model_dir, tmp_path):
    config = _one_step_without_dev_file(tiny_model_dir, tmp_path)

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


def _sets_for_sizing():
    from rewardkit.commands.quickstart_cmd import EvaluationSets
    from rewardkit.data.schema import PreferencePair

    def pair(index: int, category: str) -> PreferencePair:
        return PreferencePair(f"{category}-{index}", "q", "a", "b", category=category)

    dev = [pair(index, category) for category in ("chat", "safety") for index in range(40)]
    return EvaluationSets([pair(index, "train") for index in range(200)], dev)


# seconds per pair by set: the trained model, and a loglik baseline three times slower
RATES = {"bt-quickstart": {"synthetic": 0.5, "dev": 1.0}, "loglik": {"synthetic": 1.5, "dev": 3.0}}


def test_evaluation_seconds_counts_pairs_and_master_key_rows_of_every_model():
    from rewardkit.commands.quickstart_cmd import MASTER_KEY_ROW_PAIRS, evaluation_seconds

    sets = _sets_for_sizing()
    synthetic_work, dev_work = 200 + MASTER_KEY_ROW_PAIRS * 40, 80 + MASTER_KEY_ROW_PAIRS * 40
    assert evaluation_seconds(RATES, sets, 40) == pytest.approx(synthetic_work * 2.0 + dev_work * 4.0)


def test_an_evaluation_that_fits_keeps_every_model_and_every_row(tmp_path):
    from rewardkit.commands.quickstart_cmd import size_evaluation

    sets = _sets_for_sizing()
    plan = size_evaluation(QuickstartConfig(output=tmp_path), sets, RATES, allowed_s=10_000.0)
    assert plan.labels == ["bt-quickstart", "loglik"] and plan.sets is sets and plan.master_key_rows == 40
    assert plan.note == ""


def test_a_slow_evaluation_leaves_the_loglik_baseline_out_before_cutting_rows(tmp_path):
    from rewardkit.commands.quickstart_cmd import evaluation_seconds, size_evaluation

    sets = _sets_for_sizing()
    trained_alone = evaluation_seconds({"bt-quickstart": RATES["bt-quickstart"]}, sets, 40)
    plan = size_evaluation(QuickstartConfig(output=tmp_path), sets, RATES, allowed_s=trained_alone + 1)
    assert plan.labels == ["bt-quickstart"] and plan.sets is sets
    assert plan.seconds == pytest.approx(trained_alone)
    assert "the loglik baseline is left out" in plan.note


@pytest.mark.parametrize("share_of_allowed, timed", [(0.3, True), (0.6, False)])
def test_the_loglik_baseline_is_timed_only_when_twice_the_trained_models_evaluation_fits(
    tmp_path, monkeypatch, share_of_allowed, timed
):
    """loglik costs at least the trained model, so when the trained model's evaluation takes over half of what the
    evaluation may take, the probe does not spend time timing a baseline that would be left out anyway."""
    import time

    from rewardkit.commands import quickstart_cmd

    config = QuickstartConfig(output=tmp_path, budget_minutes=10.0, min_steps=1, bf16_min_steps=1)
    sets = _sets_for_sizing()
    allowed_s = quickstart_cmd.EVALUATION_SHARE * (600.0 - quickstart_cmd.OVERHEAD_S)
    per_pair = (
        share_of_allowed
        * allowed_s
        / quickstart_cmd.evaluation_seconds({"trained": {"synthetic": 1.0, "dev": 1.0}}, sets, config.master_key_rows)
    )
    timed_specs = []

    def rates(spec, sets, seed):
        timed_specs.append(spec)
        return {"synthetic": per_pair, "dev": per_pair}

    monkeypatch.setattr(quickstart_cmd, "_probe_training", lambda config, pairs: (1.0, "probe-model"))
    monkeypatch.setattr(quickstart_cmd, "measured_rates", rates)

    plan, evaluation, _ = quickstart_cmd.plan_run(config, sets.synthetic, sets, time.monotonic())

    assert timed_specs == (["probe-model", "loglik:default"] if timed else ["probe-model"])
    assert ("loglik" in evaluation.labels) == timed
    assert ("the loglik baseline is left out untimed" in plan.reason) != timed


def test_a_slower_evaluation_is_cut_until_it_fits_and_never_below_the_minimum(tmp_path):
    from rewardkit.commands.quickstart_cmd import evaluation_seconds, size_evaluation

    sets, config = _sets_for_sizing(), QuickstartConfig(output=tmp_path)
    trained = {"bt-quickstart": RATES["bt-quickstart"]}
    plan = size_evaluation(config, sets, RATES, allowed_s=300.0)
    assert plan.labels == ["bt-quickstart"]
    assert plan.seconds == pytest.approx(evaluation_seconds(trained, plan.sets, plan.master_key_rows))
    assert plan.seconds <= 300.0 < evaluation_seconds(trained, sets, 40)
    assert 10 <= plan.master_key_rows < 40 and 100 <= len(plan.sets.synthetic) < 200
    assert f"{plan.master_key_rows} master-key rows" in plan.note

    floor = size_evaluation(config, sets, RATES, allowed_s=1.0)
    assert len(floor.sets.synthetic) == 100 and len(floor.sets.dev) == 2 * 10 and floor.master_key_rows == 10
    assert {pair.category for pair in floor.sets.dev} == {"chat", "safety"}, "the dev slice stays stratified"


def test_the_floor_of_training_steps_takes_its_time_from_the_evaluation():
    from rewardkit.commands.quickstart_cmd import EVALUATION_SHARE, OVERHEAD_S, _allowed_evaluation_seconds

    usable = 400.0 - OVERHEAD_S
    assert _allowed_evaluation_seconds(400.0, floor_training_s=10.0) == pytest.approx(EVALUATION_SHARE * usable)
    assert _allowed_evaluation_seconds(400.0, floor_training_s=300.0) == pytest.approx(usable - 300.0)
    assert _allowed_evaluation_seconds(100.0, floor_training_s=300.0) == 0.0


def test_quickstart_without_the_loglik_baseline_scores_the_others(tiny_model_dir, tmp_path):
    config = _one_step_without_dev_file(tiny_model_dir, tmp_path, loglik_baseline=False)

    summary = run_quickstart(config)

    totals = json.loads((config.output / "summary.json").read_text())
    assert set(totals["synthetic_accuracy"]) == {"bt-quickstart", "random", "longer"}
    assert "loglik" not in summary.read_text()


def test_a_probe_that_overestimates_the_step_is_corrected_by_the_runs_own_steps(tiny_model_dir, tmp_path, monkeypatch):
    """The probe reports 100 s a step, so the plan is its floor of 3 steps; after 2 real (fast) steps, training
    re-plans from their time and grows to the most its offered data holds, with the summary saying so."""
    from rewardkit.commands import quickstart_cmd

    real_probe = quickstart_cmd._probe_training
    monkeypatch.setattr(quickstart_cmd, "_probe_training", lambda *args: (100.0, real_probe(*args)[1]))
    monkeypatch.setattr(quickstart_cmd, "REPLAN_AFTER_STEPS", 2)
    monkeypatch.setattr(quickstart_cmd, "REPLAN_GROWTH", 3)
    real_recipe = quickstart_cmd.quickstart_bt_config

    def logging_every_step(*args):
        recipe = real_recipe(*args)
        recipe.logging_steps = 1
        return recipe

    monkeypatch.setattr(quickstart_cmd, "quickstart_bt_config", logging_every_step)
    config = _one_step_without_dev_file(
        tiny_model_dir, tmp_path, max_steps=None, budget_minutes=2.0, min_steps=3, bf16_min_steps=3, n_eval=200
    )

    summary = run_quickstart(config)

    totals = json.loads((config.output / "summary.json").read_text())
    assert totals["plan"]["steps"] == 3 and totals["plan"]["seconds_per_step"] == 100.0
    # at 100 s a step the floor of 3 steps left the evaluation no time: the plan cut it to its minimum; the steps'
    # measured time left it room, so the first re-plan sized it again, whole
    assert "it uses 100 synthetic pairs" in totals["plan"]["reason"] and totals["plan"]["master_key_rows"] == 10
    assert "on 200 synthetic pairs, 0 dev rows and 40 master-key rows" in totals["replanned"]["evaluation"]
    assert "Held-out synthetic pairs (200)" in summary.read_text()
    assert totals["replanned"]["planned_steps"] == 3 and totals["replanned"]["steps"] == 9 == totals["steps"]
    assert totals["replanned"]["seconds_per_step"] < 100.0
    # and again at half and at 80% of the 9 steps, each from the steps since the re-plan before (95% is the end)
    assert [(each["after_steps"], each["timed_steps"]) for each in totals["replanned"]["replans"]] == [
        (2, "2..2"),
        (4, "3..4"),
        (7, "5..7"),
    ]
    assert totals["pairs_seen"] == 9 * BATCH_SIZE
    text = summary.read_text()
    assert "re-planned after 2 steps" in text and "so 9 steps instead of 3" in text
    assert "re-planned again from the steps since the one before, after step 4 to 9, after step 7 to 9" in text
    assert f"trained on {9 * BATCH_SIZE} synthetic verifiable pairs for 9 steps" in text
    rates = [
        record["learning_rate"]
        for record in map(json.loads, (config.output / "bt_model" / "train_log.jsonl").read_text().splitlines())
        if "learning_rate" in record
    ]
    # the rate each step used: one warmup step (rate 0), then a cosine over the 8 others, not over the first 3
    cosine_over_nine = [0.0] + [3e-4 * 0.5 * (1 + math.cos(math.pi * step / 8)) for step in range(8)]
    assert rates == pytest.approx(cosine_over_nine)


def test_the_evaluation_grows_at_the_replan_but_never_shrinks(monkeypatch):
    """Sized again from the measured step time: a floor that now leaves more time grows the evaluation and moves
    training's deadline to leave it that time; a floor that leaves less keeps the plan and its deadline."""
    from rewardkit.commands import quickstart_cmd
    from rewardkit.commands.quickstart_cmd import EvaluationRegrownAtReplan, EvaluationSets, size_evaluation
    from rewardkit.data.synthetic import synthetic_splits

    monkeypatch.setattr(quickstart_cmd.time, "monotonic", lambda: 0.0)
    config = QuickstartConfig(output=Path("unused"), master_key_rows=40)
    _, pairs = synthetic_splits(8, 200, seed=0)
    rates = {"bt-quickstart": {"synthetic": 0.5, "dev": 0.5}}  # s a pair: all of it takes (200 + 5 x 40) x 0.5 s
    planned = size_evaluation(config, EvaluationSets(pairs, []), rates, allowed_s=60.0)
    assert len(planned.sets.synthetic) < 200
    budget_deadline = 600.0

    faster = EvaluationRegrownAtReplan(config, planned, budget_deadline)
    deadline = faster(seconds_per_step=1.0, floor_steps_left=10)
    assert len(faster.evaluation.sets.synthetic) == 200 and faster.evaluation.master_key_rows == 40
    assert deadline == pytest.approx(faster.job_end - quickstart_cmd.OVERHEAD_S - faster.evaluation.seconds)
    assert deadline < budget_deadline and "sized again" in faster.note()

    slower = EvaluationRegrownAtReplan(config, planned, budget_deadline)
    assert slower(seconds_per_step=100.0, floor_steps_left=10) == pytest.approx(budget_deadline)
    assert slower.evaluation is planned and slower.note() == ""
