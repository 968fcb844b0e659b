"""The Bradley-Terry loss (margin, reward centering) on hand-checked numbers, and the eval metrics."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from transformers import EvalPrediction

from rewardkit.training.pairwise_trainer import bradley_terry_loss, pairwise_metrics

CHOSEN = torch.tensor([1.0, 0.0])
REJECTED = torch.tensor([0.0, 1.0])


def test_plain_loss_is_mean_negative_log_sigmoid_of_the_difference():
    # differences +1 and -1: (log(1 + e^-1) + log(1 + e^1)) / 2
    expected = (math.log1p(math.exp(-1)) + math.log1p(math.exp(1))) / 2
    assert bradley_terry_loss(CHOSEN, REJECTED).item() == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx(0.813262, abs=1e-6)


def test_margin_is_subtracted_from_the_difference():
    # differences 1 - 0.5 = 0.5 and -1 - 0.5 = -1.5
    expected = (0.474077 + 1.701413) / 2
    assert bradley_terry_loss(CHOSEN, REJECTED, margin=0.5).item() == pytest.approx(expected, abs=1e-5)
    per_pair = torch.tensor([0.5, 0.5])
    assert bradley_terry_loss(CHOSEN, REJECTED, margin=per_pair).item() == pytest.approx(expected, abs=1e-5)


def test_centering_adds_coefficient_times_mean_squared_reward_sum():
    chosen, rejected = torch.tensor([2.0, 0.0]), torch.tensor([1.0, 1.0])
    # differences +1 and -1 as above; (r_c + r_r)^2 = 9 and 1, mean 5, times 0.1 = 0.5
    expected = 0.813262 + 0.5
    assert bradley_terry_loss(chosen, rejected, center_rewards_coefficient=0.1).item() == pytest.approx(
        expected, abs=1e-5
    )
    assert bradley_terry_loss(chosen, rejected, center_rewards_coefficient=None).item() == pytest.approx(
        0.813262, abs=1e-5
    )


def test_loss_gradient_pushes_chosen_up_and_rejected_down():
    chosen, rejected = torch.zeros(1, requires_grad=True), torch.zeros(1, requires_grad=True)
    bradley_terry_loss(chosen, rejected).backward()
    assert chosen.grad.item() == pytest.approx(-0.5) and rejected.grad.item() == pytest.approx(0.5)


def test_pairwise_metrics_accuracy_is_strict_and_margin_is_mean():
    predictions = np.array([[1.0, 0.0], [0.2, 0.2], [0.0, 3.0], [2.0, 1.0]])
    metrics = pairwise_metrics(EvalPrediction(predictions=predictions, label_ids=np.zeros(4)))
    assert metrics["accuracy"] == pytest.approx(0.5)
    assert metrics["mean_margin"] == pytest.approx((1 + 0 - 3 + 1) / 4)
