"""JudgeBench scoring (Tan et al. 2024, arXiv 2410.12784), as ScalerLab/JudgeBench `utils/metrics.py`.

A judge reads each pair in both orders, (A, B) and (B, A), the second decision flipped back; each decision equal to
the label counts +1, each equal to the flipped label -1, a tie (A=B) or an unparsable verdict 0; the pair is correct
when the sum is > 0 (`compute_final_metrics` with reverse_order). A reward model decides once by its two scores,
"A>B" if score A > score B else "B>A" (upstream's reward-model judges, run with --single_game as its README advises:
equal scores count as B>A). Per category (knowledge = mmlu-pro-*, reasoning = livebench-reasoning, math =
livebench-math, coding = livecodebench) and overall, the percentage of correct pairs (overall pools all pairs).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rewardkit.evaluation.benchmark_outcomes import RowOutcome, Units, unit_means, weighted_mean

OVERALL = "overall"
LABEL, FLIPPED, NO_DECISION = 1, -1, 0


def decision_from_probability(p_first_better: float | None) -> int:
    """A judge's decision oriented to "first response better": +1, -1, or 0 for a tie / no verdict (None)."""
    if p_first_better is None or p_first_better == 0.5:
        return NO_DECISION
    return LABEL if p_first_better > 0.5 else FLIPPED


def decision_from_scores(score_a: float, score_b: float, chosen_first: bool) -> int:
    """Upstream's reward-model decision, "A>B" if score_a > score_b else "B>A", against the label."""
    a_wins = score_a > score_b
    return LABEL if a_wins == chosen_first else FLIPPED


def pair_correct(decisions: Sequence[int]) -> float:
    """1 when the decisions sum to more than zero (each +1 label, -1 flip, 0 tie/unparsable)."""
    return float(sum(decisions) > 0)


def judgebench_statistics(outcomes: Sequence[RowOutcome], units: Units, weights: np.ndarray) -> dict:
    """The fraction of correct pairs per category and overall (all pairs pooled), per weight row."""
    statistics: dict[str, np.ndarray] = {}
    for category in dict.fromkeys(units.strata):
        columns = units.columns(category)
        statistics[category] = weighted_mean(weights[:, columns], unit_means(outcomes, units, columns))
    every = np.arange(len(units.strata))
    statistics[OVERALL] = weighted_mean(weights, unit_means(outcomes, units, every))
    return statistics


def judgebench_outcome(row_id: str, decisions: Sequence[int], unparsable: int = 0, **fields) -> RowOutcome:
    """A judged JudgeBench pair: its decisions (label-oriented) and whether their sum is positive."""
    values = [float(decision) for decision in decisions]
    return RowOutcome(id=row_id, values=values, credit=pair_correct(decisions), unparsable=unparsable, **fields)
