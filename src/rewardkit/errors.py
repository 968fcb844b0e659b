"""Errors a caller may catch across layers (a leaf module: it imports nothing of rewardkit, so the CLI can name them
without loading torch)."""

from __future__ import annotations


class ModelNotFoundError(RuntimeError):
    """A model spec that resolves to nothing loadable."""
