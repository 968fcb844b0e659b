"""Combining several reward models' rewards into one: mean, worst-case (WCO) and uncertainty-weighted (UWO)
aggregation (Coste et al. 2023, "Reward Model Ensembles Help Mitigate Overoptimization", arXiv 2310.02743, §3), and
the per-row z-scores that put rewards of different models on one scale. Used by ensembles and by Best-of-N.
"""

from __future__ import annotations

import numpy as np

ENSEMBLE_METHODS = ("mean", "wco", "uwo")
DEFAULT_UWO_LAMBDA = 0.5


def zscore_rows(matrix: np.ndarray) -> np.ndarray:
    """Each row standardized to mean 0, std 1 over its entries (a constant row becomes all zeros)."""
    matrix = np.asarray(matrix, dtype=float)
    std = matrix.std(axis=1, keepdims=True)
    return (matrix - matrix.mean(axis=1, keepdims=True)) / np.where(std == 0, 1.0, std)


def check_method(method: str) -> str:
    if method not in ENSEMBLE_METHODS:
        raise ValueError(f"unknown ensemble method {method!r}: choose one of {', '.join(ENSEMBLE_METHODS)}")
    return method


def aggregate_rewards(member_rewards: np.ndarray, method: str, uwo_lambda: float = DEFAULT_UWO_LAMBDA) -> np.ndarray:
    """Combine [members, items] rewards (Coste et al. §3): mean; WCO = min over members; UWO = mean - λ·Var.

    Var is the intra-ensemble (population) variance (1/k)·Σ_i (r_i - mean)^2.
    """
    member_rewards = np.asarray(member_rewards, dtype=float)
    if check_method(method) == "mean":
        return member_rewards.mean(axis=0)
    if method == "wco":
        return member_rewards.min(axis=0)
    return member_rewards.mean(axis=0) - uwo_lambda * member_rewards.var(axis=0)
