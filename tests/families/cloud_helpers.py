"""A tiny CLoud model for unit tests: the tiny random Llama with a seeded reward head and a short critique format."""

from __future__ import annotations

from pathlib import Path

import torch

from rewardkit.families.cloud import CloudRewardModel
from rewardkit.families.critique_format import CritiqueFormatConfig

TINY_FORMAT = CritiqueFormatConfig(request="Critique it.", max_new_tokens=8, max_length=128, max_response_length=24)
PROMPTS = [
    "What is 12 plus 7?",
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Reverse the string abc."}],
    "Count the letters in the word banana, then explain step by step how you counted them.",
]
RESPONSES = ["19", "cba", "There are 6 letters: b, a, n, a, n, a. Let's count them one by one to be sure."]


def tiny_cloud_model(model_dir: Path, seed: int = 0) -> CloudRewardModel:
    """A fp32 CLoud model on the tiny Llama, its weights moved off the random init so greedy critiques are varied
    text rather than a repeated token."""
    model = CloudRewardModel.from_backbone(str(model_dir), TINY_FORMAT, seed=seed, precision="fp32")
    generator = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for parameter in model.network.parameters():
            parameter.add_(0.5 * torch.randn(parameter.shape, generator=generator))
    return model
