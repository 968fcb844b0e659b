"""Bradley-Terry preferences from pointwise scores: what every scalar family's `compare` reduces to."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from rewardkit.protocol import Preference, Prompt, Score


def preferences_from_scores(
    scores_a: Sequence[float], scores_b: Sequence[float], metas: Sequence[dict[str, Any]] | None = None
) -> list[Preference]:
    """P(A better) = σ(r_a − r_b), computed without overflow; meta keeps both rewards (plus `metas[i]` if given)."""
    differences = np.asarray(scores_a, dtype=float) - np.asarray(scores_b, dtype=float)
    probabilities = np.exp(-np.logaddexp(0.0, -differences))
    metas = metas or [{} for _ in probabilities]
    return [
        Preference(p_a_better=float(p), meta={"score_a": float(a), "score_b": float(b), **meta})
        for p, a, b, meta in zip(probabilities, scores_a, scores_b, metas, strict=True)
    ]


def compare_by_scoring(
    score: Callable[[Sequence[Prompt], Sequence[str]], list[Score]],
    prompts: Sequence[Prompt],
    responses_a: Sequence[str],
    responses_b: Sequence[str],
    meta: Callable[[Score, Score], dict[str, Any]] | None = None,
) -> list[Preference]:
    """Score the A and B responses in one `score` call (one batched pass), then σ(r_a − r_b) per pair."""
    if not len(prompts) == len(responses_a) == len(responses_b):
        raise ValueError(f"got {len(prompts)} prompts, {len(responses_a)} A and {len(responses_b)} B responses")
    scores = score([*prompts, *prompts], [*responses_a, *responses_b])
    count = len(prompts)
    side_a, side_b = scores[:count], scores[count:]
    metas = [meta(a, b) for a, b in zip(side_a, side_b, strict=True)] if meta else None
    return preferences_from_scores([s.value for s in side_a], [s.value for s in side_b], metas)
