"""Statistics over per-row results: bootstrap intervals, calibration of P(chosen), and length bias."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

PROBABILITY_CLIP = 1e-6


def resample_means(values: np.ndarray, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Means of `samples` bootstrap resamples of `values` (rows drawn with replacement), shape (samples,).

    Resampling n rows with replacement draws each distinct value a Multinomial(n, frequencies) number of times, so
    drawing those counts gives the same distribution as drawing row indices, in O(samples x distinct values) memory.
    """
    levels, counts = np.unique(values, return_counts=True)
    drawn = rng.multinomial(len(values), counts / counts.sum(), size=samples)
    return drawn @ levels / len(values)


def stratified_bootstrap(
    values_by_stratum: Mapping[str, np.ndarray], groups: Mapping[str, Sequence[str]], samples: int, seed: int
) -> dict[str, np.ndarray]:
    """Bootstrap replicates of each group's row-weighted mean, resampling rows within each stratum (subset).

    Replicate b of every group uses the same resampled strata, so group replicates can be combined (e.g. averaged).
    """
    rng = np.random.default_rng(seed)
    stratum_means = {name: resample_means(values_by_stratum[name], samples, rng) for name in sorted(values_by_stratum)}
    replicates = {}
    for group, strata in groups.items():
        sizes = np.array([len(values_by_stratum[name]) for name in strata], dtype=float)
        means = np.stack([stratum_means[name] for name in strata])
        replicates[group] = sizes @ means / sizes.sum()
    return replicates


def percentile_interval(replicates: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval (Efron & Tibshirani 1993, ch. 13)."""
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(replicates, [tail, 100 - tail])
    return float(low), float(high)


@dataclass
class CalibrationBin:
    """One confidence bin of a reliability diagram."""

    low: float
    high: float
    count: int
    confidence: float | None
    accuracy: float | None


@dataclass
class Calibration:
    """How well P(chosen better) matches reality: ECE over predicted-side confidence, Brier score and log loss."""

    ece: float
    brier: float
    log_loss: float
    n: int
    bins: list[CalibrationBin] = field(default_factory=list)


def _bin_edges(n_bins: int) -> np.ndarray:
    return np.linspace(0.0, 1.0, n_bins + 1)


def reliability_bins(confidence: np.ndarray, hit: np.ndarray, n_bins: int = 10) -> list[CalibrationBin]:
    """Equal-width bins (lo, hi] over [0, 1] with the mean confidence and accuracy of each (Guo et al. 2017)."""
    edges = _bin_edges(n_bins)
    index = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, n_bins - 1)
    bins = []
    for number in range(n_bins):
        members = index == number
        count = int(members.sum())
        bins.append(
            CalibrationBin(
                low=float(edges[number]),
                high=float(edges[number + 1]),
                count=count,
                confidence=float(confidence[members].mean()) if count else None,
                accuracy=float(hit[members].mean()) if count else None,
            )
        )
    return bins


def calibration_metrics(p_chosen: np.ndarray, n_bins: int = 10) -> Calibration:
    """ECE (Guo et al. 2017, arXiv 1706.04599, eq. 3), Brier score and log loss of P(chosen) for gold label "chosen".

    The predicted side is chosen when p > 0.5, rejected when p < 0.5; its confidence is max(p, 1 - p). A tie
    (p = 0.5) is a coin flip: confidence 0.5 and expected accuracy 0.5.
    """
    p_chosen = np.asarray(p_chosen, dtype=float)
    confidence = np.maximum(p_chosen, 1.0 - p_chosen)
    hit = np.where(p_chosen > 0.5, 1.0, np.where(p_chosen < 0.5, 0.0, 0.5))
    bins = reliability_bins(confidence, hit, n_bins)
    ece = sum(b.count * abs(b.accuracy - b.confidence) for b in bins if b.count) / len(p_chosen)
    clipped = np.clip(p_chosen, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
    return Calibration(
        ece=float(ece),
        brier=float(np.mean((1.0 - p_chosen) ** 2)),
        log_loss=float(-np.mean(np.log(clipped))),
        n=len(p_chosen),
        bins=bins,
    )


@dataclass
class LengthBias:
    """Accuracy when the chosen response is longer vs shorter than the rejected one (characters); ties excluded."""

    accuracy_chosen_longer: float | None
    n_chosen_longer: int
    accuracy_chosen_shorter: float | None
    n_chosen_shorter: int
    n_equal_length: int
    gap: float | None


def _mean_or_none(values: np.ndarray) -> float | None:
    return float(values.mean()) if len(values) else None


def length_bias(correct: np.ndarray, chosen_lengths: np.ndarray, rejected_lengths: np.ndarray) -> LengthBias:
    """Split accuracy by whether chosen is the longer response: a large gap means the model rewards length."""
    correct = np.asarray(correct, dtype=float)
    chosen_lengths, rejected_lengths = np.asarray(chosen_lengths), np.asarray(rejected_lengths)
    longer, shorter = chosen_lengths > rejected_lengths, chosen_lengths < rejected_lengths
    accuracy_longer, accuracy_shorter = _mean_or_none(correct[longer]), _mean_or_none(correct[shorter])
    gap = None if accuracy_longer is None or accuracy_shorter is None else accuracy_longer - accuracy_shorter
    return LengthBias(
        accuracy_chosen_longer=accuracy_longer,
        n_chosen_longer=int(longer.sum()),
        accuracy_chosen_shorter=accuracy_shorter,
        n_chosen_shorter=int(shorter.sum()),
        n_equal_length=int((~longer & ~shorter).sum()),
        gap=gap,
    )
