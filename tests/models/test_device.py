"""Device and precision selection."""

from __future__ import annotations

import torch

from rewardkit.models.device import autocast_context, pick_device, supports_bf16


def test_explicit_device_wins(monkeypatch):
    monkeypatch.setenv("REWARDKIT_DEVICE", "cuda")
    assert pick_device("cpu") == torch.device("cpu")


def test_environment_picks_the_device(monkeypatch):
    monkeypatch.setenv("REWARDKIT_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")


def test_automatic_device_is_cuda_only_when_present(monkeypatch):
    monkeypatch.delenv("REWARDKIT_DEVICE", raising=False)
    assert pick_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_bf16_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("REWARDKIT_BF16", "0")
    assert not supports_bf16(torch.device("cpu"))
    with autocast_context(torch.device("cpu")):
        assert torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype == torch.float32


def test_autocast_computes_in_bf16_where_supported(monkeypatch):
    monkeypatch.setenv("REWARDKIT_BF16", "1")
    device = torch.device("cpu")
    with autocast_context(device):
        dtype = torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype
    assert dtype == (torch.bfloat16 if supports_bf16(device) else torch.float32)
