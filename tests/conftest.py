"""Shared fixtures: a tiny random model saved once per session and the path to ../shared/data; tests run on CPU."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rewardkit.models.tiny import save_tiny_model

# The unit tests run their tiny models on the CPU on every machine, so a GPU box gets what CI gets (packing, for one,
# is CPU-only by default); `REWARDKIT_DEVICE=cuda bash scripts/test.sh` runs them on the GPU instead.
os.environ.setdefault("REWARDKIT_DEVICE", "cpu")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("REWARDKIT_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A 2-layer random Llama + in-code BPE tokenizer with a ChatML template, saved as a local model dir."""
    return save_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, or skip the test with a clear message when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared data not found at {SHARED_DATA} (set REWARDKIT_SHARED_DATA)")
    return SHARED_DATA
