"""Bootstrap resampling, calibration (ECE, Brier, log loss) and the length-bias split, on hand-checked inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rewardkit.evaluation.stats import (
    calibration_metrics,
    length_bias,
    percentile_interval,
    resample_means,
    stratified_bootstrap,
)


def test_calibration_on_hand_checked_values():
    # confidences 0.95, 0.85, 0.85, 0.6 -> bins (0.9,1] acc 1, (0.8,0.9] acc 1/2, (0.5,0.6] acc 1
    calibration = calibration_metrics(np.array([0.95, 0.85, 0.15, 0.6]))

    assert calibration.ece == pytest.approx((0.05 + 2 * 0.35 + 0.4) / 4)
    assert calibration.brier == pytest.approx((0.05**2 + 0.15**2 + 0.85**2 + 0.4**2) / 4)
    assert calibration.log_loss == pytest.approx(
        -(math.log(0.95) + math.log(0.85) + math.log(0.15) + math.log(0.6)) / 4
    )
    assert calibration.n == 4
    bin_with_two = calibration.bins[8]
    assert (bin_with_two.count, bin_with_two.accuracy, bin_with_two.confidence) == (2, 0.5, pytest.approx(0.85))


def test_perfectly_calibrated_and_tied_predictions_have_zero_ece():
    p_chosen = np.array([0.8] * 4 + [0.2] + [0.5] * 3)

    assert calibration_metrics(p_chosen).ece == pytest.approx(0.0)


def test_log_loss_clips_certain_mistakes():
    calibration = calibration_metrics(np.array([0.0, 1.0]))

    assert calibration.log_loss == pytest.approx(-math.log(1e-6) / 2)
    assert calibration.brier == 0.5
    assert calibration.ece == pytest.approx(0.5)


def test_length_bias_splits_by_which_response_is_longer():
    correct = np.array([1, 1, 0, 0, 1, 0.5])
    chosen_lengths = np.array([10, 20, 30, 5, 5, 7])
    rejected_lengths = np.array([5, 10, 10, 9, 9, 7])

    bias = length_bias(correct, chosen_lengths, rejected_lengths)

    assert (bias.n_chosen_longer, bias.n_chosen_shorter, bias.n_equal_length) == (3, 2, 1)
    assert bias.accuracy_chosen_longer == pytest.approx(2 / 3)
    assert bias.accuracy_chosen_shorter == pytest.approx(1 / 2)
    assert bias.gap == pytest.approx(2 / 3 - 1 / 2)


def test_length_bias_without_shorter_rows_has_no_gap():
    bias = length_bias(np.array([1.0]), np.array([3]), np.array([1]))

    assert bias.accuracy_chosen_shorter is None and bias.gap is None


def test_resampled_means_match_row_bootstrap_moments():
    values = np.array([0.0] * 30 + [1.0] * 70)

    means = resample_means(values, 20_000, np.random.default_rng(0))

    assert means.mean() == pytest.approx(0.7, abs=0.002)
    assert means.std() == pytest.approx(math.sqrt(0.7 * 0.3 / 100), rel=0.05)


def test_stratified_bootstrap_weights_strata_by_size():
    values = {"big": np.ones(90), "small": np.zeros(10)}

    replicates = stratified_bootstrap(values, {"all": ["big", "small"]}, samples=50, seed=0)

    assert np.allclose(replicates["all"], 0.9)


def test_percentile_interval_of_known_replicates():
    assert percentile_interval(np.arange(1001) / 1000) == pytest.approx((0.025, 0.975))
