"""Device selection."""

from __future__ import annotations

import torch

from rewardkit.models.device import pick_device


def test_explicit_device_wins(monkeypatch):
    monkeypatch.setenv("REWARDKIT_DEVICE", "cuda")
    assert pick_device("cpu") == torch.device("cpu")


def test_environment_picks_the_device(monkeypatch):
    monkeypatch.setenv("REWARDKIT_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_automatic_device_is_cuda_only_when_present(monkeypatch):
    monkeypatch.delenv("REWARDKIT_DEVICE", raising=False)
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
