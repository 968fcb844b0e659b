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


def test_equal_costs_fall_back_to_the_mean_for_the_affine_rule(bench):
    predicted = bench.predictions(np.array([5.0, 2, 2, 2, 2, 2, 3]), np.full(7, 10.0), after=6)
    assert predicted == {"per_padded_token": 2.0, "per_step": 2.0, "affine": 2.0}


def test_a_short_run_on_the_tiny_model_prints_the_record_last(bench, tiny_model_dir, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["bench_step_time_model.py", "--model", str(tiny_model_dir), "--steps", "9"])
    bench.main()
    record = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert record["steps"] == 9
    assert set(record["predicted_seconds_after"]) == {"per_padded_token", "per_step", "affine"}
    assert record["actual_seconds_after"] > 0 and "machine" in record
