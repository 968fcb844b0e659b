"""The CLoud stage-3 loss L_BT + λ·L_LM (arXiv 2408.11791, §3) against a hand computation on tiny tensors."""

from __future__ import annotations

import math

import pytest
import torch

from rewardkit.training.cloud import cloud_loss, critique_lm_loss

REWARDS_CHOSEN = torch.tensor([1.0, 0.5])
REWARDS_REJECTED = torch.tensor([0.0, 1.0])
# Three critique tokens over a 3-word vocabulary: logits and the token each position should predict.
LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
LABELS = torch.tensor([0, 2, 1])


def _by_hand_bt() -> float:
    """mean over pairs of -log σ(r_c - r_r) = log(1 + exp(-(r_c - r_r)))."""
    return (math.log(1 + math.exp(-1.0)) + math.log(1 + math.exp(0.5))) / 2


def _by_hand_lm() -> float:
    """mean over tokens of -log softmax(logits)[label]."""
    first = -math.log(math.exp(2) / (math.exp(2) + 2))
    second = -math.log(1 / (math.e + 2))
    third = -math.log(1 / 3)
    return (first + second + third) / 3


def test_hand_values():
    assert _by_hand_bt() == pytest.approx(0.6436694, abs=1e-6)
    assert _by_hand_lm() == pytest.approx(0.9632004, abs=1e-6)


def test_lm_loss_is_the_mean_cross_entropy_over_critique_tokens():
    assert critique_lm_loss(LOGITS, LABELS).item() == pytest.approx(_by_hand_lm(), abs=1e-6)


def test_cloud_loss_is_bt_plus_lambda_times_lm():
    loss = cloud_loss(REWARDS_CHOSEN, REWARDS_REJECTED, LOGITS, LABELS, lm_weight=1.25)
    assert loss.item() == pytest.approx(_by_hand_bt() + 1.25 * _by_hand_lm(), abs=1e-6)
    assert loss.item() == pytest.approx(1.8476699, abs=1e-6)


def test_lambda_zero_is_plain_bradley_terry_and_needs_no_logits():
    loss = cloud_loss(REWARDS_CHOSEN, REWARDS_REJECTED, None, None, lm_weight=0.0)
    assert loss.item() == pytest.approx(_by_hand_bt(), abs=1e-6)


def test_reward_centering_adds_the_squared_sum():
    loss = cloud_loss(REWARDS_CHOSEN, REWARDS_REJECTED, None, None, lm_weight=0.0, center_rewards_coefficient=0.1)
    centering = 0.1 * ((1.0 + 0.0) ** 2 + (0.5 + 1.0) ** 2) / 2
    assert loss.item() == pytest.approx(_by_hand_bt() + centering, abs=1e-6)


def test_gradients_reach_both_the_rewards_and_the_logits():
    chosen = REWARDS_CHOSEN.clone().requires_grad_(True)
    logits = LOGITS.clone().requires_grad_(True)
    cloud_loss(chosen, REWARDS_REJECTED, logits, LABELS, lm_weight=1.25).backward()
    # d/dr_c of -log σ(d) / 2 is -(1 - σ(d)) / 2 for each pair.
    expected = [-(1 - 1 / (1 + math.exp(-1.0))) / 2, -(1 - 1 / (1 + math.exp(0.5))) / 2]
    assert chosen.grad.tolist() == pytest.approx(expected, abs=1e-6)
    assert logits.grad.abs().sum() > 0
