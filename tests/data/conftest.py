"""Fixture keeping Hugging Face dataset caches inside the test's tmp dir."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def hf_cache(tmp_path, monkeypatch) -> Path:
    """Point `datasets.load_dataset` caches at tmp_path."""
    import datasets

    cache = tmp_path / "hf-cache"
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    return cache
