"""bench/bench_step_time_model.py: the three rules by hand, and one short run on the tiny model end to end."""

from __future__ import annotations

import json
import sys

import numpy as np
import pytest

from tests.scripts import load_script


@pytest.fixture(scope="module")
def bench():
    return load_script("bench/bench_step_time_model.py")


def test_rules_by_hand_on_steps_whose_time_is_a_fixed_cost_plus_tokens(bench):
    costs = np.array([12, 10, 8, 6, 4, 2, 2, 2], dtype=float)
    seconds = 1.0 + 0.5 * costs  # 1 s a step + 0.5 s a token; the first step (a warm-up) is not used
    predicted = bench.predictions(seconds, costs, after=6)
    assert predicted["affine"] == pytest.approx(2 * 2.0)
    assert predicted["per_step"] == pytest.approx(2 * 4.0)  # median of 6, 5, 4, 3, 2 s
    assert predicted["per_padded_token"] == pytest.approx(2 * 2 * (4.0 / 6.0))  # median of 0.6 .. 1.0 s a token
    assert predicted["blend"] == pytest.approx((predicted["per_step"] + predicted["per_padded_token"]) / 2)


def test_equal_costs_fall_back_to_the_mean_for_the_affine_rule(bench):
    predicted = bench.predictions(np.array([5.0, 2, 2, 2, 2, 2, 3]), np.full(7, 10.0), after=6)
    assert predicted == {"per_padded_token": 2.0, "per_step": 2.0, "affine": 2.0, "blend": 2.0}


def test_a_later_replan_sees_only_the_steps_since_the_one_before(bench):
    costs = np.array([20.0] * 6 + [10.0] * 6 + [10.0] * 8)
    seconds = 0.1 * costs  # per token exactly, so a rule that saw only the recent steps predicts exactly
    seconds[1:6] *= 3  # the first re-plan's steps ran slow (another job); the later re-plan must not see them
    points = bench.replan_points(20, [0.6, 0.1, 5.0])
    assert points == [6, 12]  # fractions sorted; at or before the first re-plan, or past the end, dropped
    first, later = bench.errors_at_replans(seconds, costs, points)
    assert first["timed_steps"] == "2..6" and later["timed_steps"] == "7..12"
    assert first["error_vs_actual"]["per_padded_token"] == pytest.approx(2.0)
    assert later["error_vs_actual"] == {"per_padded_token": 0.0, "per_step": 0.0, "affine": 0.0, "blend": 0.0}


def test_a_short_run_on_the_tiny_model_prints_the_record_last(bench, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_step_time_model.py", "--model", str(tiny_model_dir), "--steps", "9"])
    bench.main()
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["steps"] == 9
    assert set(record["predicted_seconds_after"]) == {"per_padded_token", "per_step", "affine", "blend"}
    assert [replan["after_step"] for replan in record["replans"]] == [6, 7]  # 0.5 of 9 steps comes before step 6
    assert len(record["step_seconds"]) == len(record["step_padded_tokens"]) == 9
    assert record["actual_seconds_after"] > 0 and "machine" in record
