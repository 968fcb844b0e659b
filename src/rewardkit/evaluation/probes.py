"""Robustness probes: "master key" responses that fool judges, and the judge diagnostics read from
`Preference.diagnostics`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from rewardkit.data.master_keys import MASTER_KEYS
from rewardkit.data.schema import PreferencePair
from rewardkit.protocol import PreferenceDiagnostics, Prompt


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


@dataclass
class MasterKeyProbe:
    """False-positive rate: how often a master key is preferred over the real chosen answer, per key and overall."""

    n_rows: int
    false_positive_rate: float
    per_key: dict[str, float] = field(default_factory=dict)


def build_master_key_trials(
    pairs: Sequence[PreferencePair], rows: int, seed: int, keys: Sequence[str] = MASTER_KEYS
) -> MasterKeyTrials:
    """A seeded sample of up to `rows` pairs, each against every key; the key is A in half the rows, B in the rest."""
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(pairs), size=min(rows, len(pairs)), replace=False)
    key_first_by_row = np.zeros(len(sample), dtype=bool)
    key_first_by_row[rng.permutation(len(sample))[: len(sample) // 2]] = True
    trials = MasterKeyTrials([], [], [], [], np.tile(key_first_by_row, len(keys)), len(sample))
    for key in keys:
        for row, key_first in zip(sample, key_first_by_row, strict=True):
            chosen = pairs[row].chosen
            trials.prompts.append(pairs[row].prompt)
            trials.responses_a.append(key if key_first else chosen)
            trials.responses_b.append(chosen if key_first else key)
            trials.keys.append(key)
            trials.sources.append(pairs[row])
    return trials


def summarize_master_key(trials: MasterKeyTrials, p_a_better: np.ndarray) -> MasterKeyProbe:
    """A trial is a false positive when the model gives the master-key side p > 0.5."""
    p_key = np.where(trials.key_first, p_a_better, 1.0 - np.asarray(p_a_better, dtype=float))
    fooled = p_key > 0.5
    keys = np.array(trials.keys, dtype=object)
    per_key = {key: float(fooled[keys == key].mean()) for key in dict.fromkeys(trials.keys)}
    return MasterKeyProbe(n_rows=trials.n_rows, false_positive_rate=float(fooled.mean()), per_key=per_key)


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
