"""Robustness probes: "master key" responses that fool judges, and the judge diagnostics read from
`Preference.diagnostics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rewardkit.data.master_keys import HELD_OUT_MASTER_KEYS, TRAINING_MASTER_KEYS
from rewardkit.data.schema import PreferencePair
from rewardkit.evaluation.stats import percentile_interval
from rewardkit.protocol import PreferenceDiagnostics, Prompt

PROBE_KEY_GROUPS = {"training": TRAINING_MASTER_KEYS, "held_out": HELD_OUT_MASTER_KEYS}
PROBE_KEYS = TRAINING_MASTER_KEYS + HELD_OUT_MASTER_KEYS


@dataclass
class MasterKeyTrials:
    """Comparisons of real chosen answers against master keys; the key is response A where `key_first`; `sources`:
    the pair each comparison comes from."""

    prompts: list[Prompt]
    responses_a: list[str]
    responses_b: list[str]
    keys: list[str]
    key_first: np.ndarray
    n_rows: int
    sources: list[PreferencePair] = field(default_factory=list)
    row_ids: list[str] = field(default_factory=list)


@dataclass
class KeyGroupRate:
    """False-positive rate over the keys of one group (training or held-out) with a 95% row-bootstrap interval."""

    keys: list[str]
    false_positive_rate: float
    ci_low: float
    ci_high: float


@dataclass
class MasterKeyProbe:
    """False-positive rate: how often a master key is preferred over the real chosen answer, per key (with a 95%
    row-bootstrap interval), per key group (training keys / held-out keys) and overall. `fooled` holds each key's
    outcome per row ("1": fooled) in the order of `row_ids`, so two reports can be paired row by row.
    `excluded_rows` counts rows never drawn because an earlier probe used them (`rewardkit eval --probe-exclude`)."""

    n_rows: int
    false_positive_rate: float
    per_key: dict[str, float] = field(default_factory=dict)
    per_key_ci: dict[str, tuple[float, float]] = field(default_factory=dict)
    groups: dict[str, KeyGroupRate] = field(default_factory=dict)
    row_ids: list[str] = field(default_factory=list)
    fooled: dict[str, str] = field(default_factory=dict)
    excluded_rows: int = 0


def build_master_key_trials(
    pairs: Sequence[PreferencePair], rows: int, seed: int, keys: Sequence[str] = PROBE_KEYS
) -> MasterKeyTrials:
    """A seeded sample of up to `rows` pairs, each against every key; the key is A in half the rows, B in the rest."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(pairs), size=min(rows, len(pairs)), replace=False)
    key_first_by_row = np.zeros(len(sample), dtype=bool)
    key_first_by_row[rng.permutation(len(sample))[: len(sample) // 2]] = True
    trials = MasterKeyTrials([], [], [], [], np.tile(key_first_by_row, len(keys)), len(sample))
    trials.row_ids = [pairs[row].id for row in sample]
    for key in keys:
        for row, key_first in zip(sample, key_first_by_row, strict=True):
            chosen = pairs[row].chosen
            trials.prompts.append(pairs[row].prompt)
            trials.responses_a.append(key if key_first else chosen)
            trials.responses_b.append(chosen if key_first else key)
            trials.keys.append(key)
            trials.sources.append(pairs[row])
    return trials


def row_major_order(trials: MasterKeyTrials) -> list[int]:
    """Trial indices row by row (a row's keys together; the trials are stored key by key). Sent to a model in this
    order, each chunk holds a few rows with all their keys, so a model that scores a repeated sequence once reads
    each real answer (and its prompt) once per row instead of once per key."""
    n_keys = len(trials.keys) // trials.n_rows if trials.n_rows else 0
    return [key * trials.n_rows + row for row in range(trials.n_rows) for key in range(n_keys)]


def row_bootstrap_interval(fooled: np.ndarray, samples: int, seed: int) -> tuple[float, float]:
    """95% percentile interval of the mean of a (keys, rows) 0/1 matrix, resampling rows (a row's keys together)."""
    rng = np.random.default_rng(seed)
    columns = rng.integers(0, fooled.shape[1], size=(samples, fooled.shape[1]))
    return percentile_interval(fooled[:, columns].mean(axis=(0, 2)))


def summarize_master_key(
    trials: MasterKeyTrials, p_a_better: np.ndarray, bootstrap_samples: int = 1000
) -> MasterKeyProbe:
    """A trial is a false positive when the model gives the master-key side p > 0.5."""
    p_key = np.where(trials.key_first, p_a_better, 1.0 - np.asarray(p_a_better, dtype=float))
    keys = list(dict.fromkeys(trials.keys))
    fooled = (p_key > 0.5).reshape(len(keys), trials.n_rows).astype(float)
    by_key = dict(zip(keys, fooled, strict=True))
    probe = MasterKeyProbe(n_rows=trials.n_rows, false_positive_rate=float(fooled.mean()), row_ids=trials.row_ids)
    for index, key in enumerate(keys):
        probe.per_key[key] = float(by_key[key].mean())
        probe.per_key_ci[key] = row_bootstrap_interval(by_key[key][None, :], bootstrap_samples, index)
        probe.fooled[key] = "".join(str(int(value)) for value in by_key[key])
    for name, group_keys in PROBE_KEY_GROUPS.items():
        present = [key for key in group_keys if key in by_key]
        if present:
            matrix = np.stack([by_key[key] for key in present])
            interval = row_bootstrap_interval(matrix, bootstrap_samples, len(keys))
            probe.groups[name] = KeyGroupRate(present, float(matrix.mean()), *interval)
    return probe


@dataclass
class JudgeDiagnostics:
    """What judges report: position consistency (both orders agree), the number of pairs with a parse failure, and
    how the individual votes were read (forced: after a rationale without a verdict; failed: unreadable)."""

    position_consistency_rate: float | None = None
    n_position_checked: int = 0
    parse_failures: int | None = None
    votes: int = 0
    forced_votes: int = 0
    failed_votes: int = 0


def judge_diagnostics(diagnostics: Sequence[PreferenceDiagnostics]) -> JudgeDiagnostics:
    """Totals over the preferences' diagnostics; what no preference reports (order agreement, readability) stays
    empty."""
    consistency = [item.orders_agree for item in diagnostics if item.orders_agree is not None]
    readable = [item.unreadable for item in diagnostics if item.unreadable is not None]
    orders = [order for item in diagnostics for order in item.orders]
    votes = [vote for order in orders for vote in order.votes.verdicts]
    return JudgeDiagnostics(
        position_consistency_rate=float(np.mean(consistency)) if consistency else None,
        n_position_checked=len(consistency),
        parse_failures=sum(bool(flag) for flag in readable) if readable else None,
        votes=len(votes),
        forced_votes=sum(order.votes.forced for order in orders),
        failed_votes=sum(vote is None for vote in votes),
    )
