"""What a model said about each benchmark row, and the resampling that puts a 95% interval on every number.

Each benchmark's official score is written as a function of per-row outcomes and a matrix of row weights
(samples x units): all ones gives the number the benchmark's own code prints, and multinomial counts drawn within
each stratum give bootstrap replicates of exactly that computation (Efron & Tibshirani 1993, ch. 6 and 13). The
unit resampled is a prompt: one row, or the rows that share a prompt (RewardBench 2's Ties `ref:N` and `tied:N`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rewardkit.evaluation.stats import percentile_interval


@dataclass
class RowOutcome:
    """One benchmark row as judged: `values` are what the benchmark's rule reads.

    RewardBench 2: one score per completion, chosen first (`num_correct` of them correct). RM-Bench: the 3x3 cells
    "chosen i beat rejected j" row by row (1.0 or 0.0). JudgeBench: one decision per order read, +1 for the label,
    -1 for its flip, 0 for a tie or an unparsable verdict. `credit` is the row's own score where one exists.
    """

    id: str
    subset: str
    domain: str
    group: str
    values: list[float]
    credit: float | None = None
    num_correct: int = 1
    unparsable: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def to_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> RowOutcome:
        return cls(**{key: record[key] for key in cls.__dataclass_fields__ if key in record})


@dataclass
class Estimate:
    """A benchmark number with its 95% percentile-bootstrap interval and the count of units behind it."""

    value: float
    ci_low: float
    ci_high: float
    n: int


def resample_counts(strata: Sequence[str], samples: int, seed: int) -> np.ndarray:
    """(samples, units) draw counts: each stratum's units resampled with replacement, independently per stratum."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(strata)
    counts = np.zeros((samples, len(labels)))
    for stratum in sorted(set(strata)):
        members = np.flatnonzero(labels == stratum)
        counts[:, members] = rng.multinomial(len(members), np.full(len(members), 1 / len(members)), size=samples)
    return counts


def weighted_mean(weights: np.ndarray, values: np.ndarray, empty: float = np.nan) -> np.ndarray:
    """Per replicate, the mean of `values` with each unit counted `weights` times; `empty` where no unit is drawn."""
    total = weights.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, weights @ values / np.where(total > 0, total, 1), empty)


def estimates(point: Mapping[str, np.ndarray], replicates: Mapping[str, np.ndarray], n: Mapping[str, int]) -> dict:
    """Name -> Estimate from the point statistics (shape (1,)) and their bootstrap replicates."""
    return {
        name: Estimate(float(point[name][0]), *percentile_interval(replicates[name]), n.get(name, 0)) for name in point
    }


@dataclass
class Units:
    """The resampling units of a set of outcomes: the stratum (domain) of each and the outcome rows it holds."""

    strata: list[str]
    rows: list[list[int]]

    def columns(self, stratum: str) -> np.ndarray:
        return np.flatnonzero(np.asarray(self.strata) == stratum)


def units_of(outcomes: Sequence[RowOutcome]) -> Units:
    """One unit per (domain, group) in first-seen order: a prompt, with all the rows that share it."""
    index: dict[tuple[str, str], int] = {}
    units = Units([], [])
    for position, outcome in enumerate(outcomes):
        key = (outcome.domain, outcome.group)
        if key not in index:
            index[key] = len(units.strata)
            units.strata.append(outcome.domain)
            units.rows.append([])
        units.rows[index[key]].append(position)
    return units


def unit_means(outcomes: Sequence[RowOutcome], units: Units, columns: np.ndarray) -> np.ndarray:
    """The mean row credit of each unit in `columns` (a unit is one row everywhere but RewardBench 2's Ties)."""
    return np.array([np.mean([outcomes[row].credit for row in units.rows[column]]) for column in columns])
