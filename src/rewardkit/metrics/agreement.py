"""Agreement of a pointwise judge's ratings with gold ratings: Pearson, Spearman, exact and within-one agreement.

These are the meta-evaluation numbers of fine-grained judges (Prometheus, arXiv 2310.08491; Self-Rationalization,
arXiv 2410.05495). A judgement whose rating could not be parsed is counted and
reported, never scored: it is left out of every correlation and agreement rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import pearsonr, spearmanr


@dataclass
class RatingAgreement:
    """Agreement over the judged items whose rating parsed; None where undefined (no items, or a constant side)."""

    n_items: int
    n_scored: int
    parse_failures: int
    pearson: float | None
    spearman: float | None
    exact: float | None
    within_one: float | None


def gold_rating(value: Any, where: str) -> float:
    """A gold rating as a number (the AutoJ files write it as a string, e.g. "6")."""
    try:
        rating = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: gold score {value!r} is not a number") from None
    if not math.isfinite(rating):
        raise ValueError(f"{where}: gold score {value!r} is not a finite number")
    return rating


def _correlation(function, predicted: np.ndarray, gold: np.ndarray) -> float | None:
    """A correlation, or None when it is undefined (fewer than 2 items, or one side constant)."""
    if len(predicted) < 2 or np.ptp(predicted) == 0 or np.ptp(gold) == 0:
        return None
    return float(function(predicted, gold)[0])


def rating_agreement(predicted: Sequence[float], gold: Sequence[float], failed: Sequence[bool]) -> RatingAgreement:
    """Pearson, Spearman, exact (rating rounded half up equals gold) and within-one agreement over parsed ratings."""
    if not len(predicted) == len(gold) == len(failed):
        raise ValueError(f"lengths differ: {len(predicted)} ratings, {len(gold)} gold, {len(failed)} flags")
    scored = ~np.asarray(failed, dtype=bool)
    ratings = np.asarray(predicted, dtype=float)[scored]
    truth = np.asarray(gold, dtype=float)[scored]
    has_items = len(ratings) > 0
    return RatingAgreement(
        n_items=len(predicted),
        n_scored=int(scored.sum()),
        parse_failures=int((~scored).sum()),
        pearson=_correlation(pearsonr, ratings, truth),
        spearman=_correlation(spearmanr, ratings, truth),
        exact=float(np.mean(np.floor(ratings + 0.5) == truth)) if has_items else None,
        within_one=float(np.mean(np.abs(ratings - truth) <= 1)) if has_items else None,
    )
