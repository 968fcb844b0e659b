"""One precision vocabulary: auto|bf16|fp32, the environment deciding what `auto` means."""

from __future__ import annotations

import pytest
import torch

from rewardkit.models.precision import autocast_context, precision_dtype, resolve_precision, supports_bf16

CPU = torch.device("cpu")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    monkeypatch.delenv("REWARDKIT_PRECISION", raising=False)
    monkeypatch.delenv("REWARDKIT_BF16", raising=False)


def matmul_dtype(context) -> torch.dtype:
    with context:
        return torch.ones(2, 2).matmul(torch.ones(2, 2)).dtype


def test_auto_follows_the_hardware():
    assert resolve_precision("auto", CPU) == ("bf16" if supports_bf16(CPU) else "fp32")
    expected = torch.bfloat16 if supports_bf16(CPU) else torch.float32
    assert matmul_dtype(autocast_context(CPU)) == expected


def test_explicit_names_stay_whatever_the_environment_says(monkeypatch):
    monkeypatch.setenv("REWARDKIT_PRECISION", "bf16")
    assert resolve_precision("fp32", CPU) == "fp32"
    monkeypatch.setenv("REWARDKIT_PRECISION", "fp32")
    assert resolve_precision("bf16", CPU) == "bf16"
    assert precision_dtype("bf16", CPU) == torch.bfloat16


@pytest.mark.parametrize("value, expected", [("fp32", "fp32"), ("bf16", "bf16")])
def test_environment_sets_what_auto_means(monkeypatch, value, expected):
    monkeypatch.setenv("REWARDKIT_PRECISION", value)
    assert resolve_precision("auto", CPU) == expected


def test_the_older_bf16_switch_is_an_alias(monkeypatch):
    monkeypatch.setenv("REWARDKIT_BF16", "0")
    assert resolve_precision("auto", CPU) == "fp32"
    assert matmul_dtype(autocast_context(CPU)) == torch.float32
    monkeypatch.setenv("REWARDKIT_PRECISION", "bf16")
    assert resolve_precision("auto", CPU) == "bf16"


def test_fp32_switches_autocast_off_even_where_bf16_is_fast():
    assert matmul_dtype(autocast_context(CPU, "fp32")) == torch.float32
    assert matmul_dtype(autocast_context(CPU, "bf16")) == torch.bfloat16


def test_unknown_names_are_rejected_with_where_they_came_from(monkeypatch):
    with pytest.raises(ValueError, match="precision must be one of auto, bf16, fp32, got 'fp16'"):
        resolve_precision("fp16", CPU)
    monkeypatch.setenv("REWARDKIT_PRECISION", "half")
    with pytest.raises(ValueError, match="REWARDKIT_PRECISION must be one of"):
        resolve_precision("auto", CPU)
