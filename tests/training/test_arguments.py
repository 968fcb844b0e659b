"""training_arguments: the device the Trainer uses follows rewardkit's device choice."""

from __future__ import annotations

import torch

from rewardkit.training.arguments import training_arguments
from rewardkit.training.config import OptimizerConfig


def test_rewardkit_device_cpu_keeps_training_on_the_cpu_where_cuda_is_present(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("REWARDKIT_DEVICE", "cpu")
    arguments = training_arguments(OptimizerConfig(max_steps=1), tmp_path, precision="fp32", logging_steps=1, seed=0)
    assert arguments.use_cpu and not arguments.bf16
