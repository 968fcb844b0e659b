"""Fake reward models for evaluation tests: each implements the RewardModel protocol and nothing more."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rewardkit.data.schema import PreferencePair
from rewardkit.protocol import Preference, Score


class ScoreTableModel:
    """A scalar model whose reward is `reward(response)`; compare = sigmoid(r_a - r_b) with score_a/score_b meta."""

    def __init__(self, reward: Callable[[str], float], name: str = "score-table", tie_credit: float = 0.0) -> None:
        self.reward = reward
        self.name = name
        self.tie_credit = tie_credit

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        return [Score(self.reward(response)) for response in responses]

    def compare(self, prompts: Sequence, responses_a: Sequence[str], responses_b: Sequence[str]) -> list[Preference]:
        preferences = []
        for a, b in zip(responses_a, responses_b, strict=True):
            r_a, r_b = self.reward(a), self.reward(b)
            preferences.append(Preference(1 / (1 + math.exp(r_b - r_a)), meta={"score_a": r_a, "score_b": r_b}))
        return preferences


class JudgeModel:
    """A pairwise judge defined by `verdict(a, b) -> (p_a_better, meta)`; it has no pointwise score."""

    def __init__(self, verdict: Callable[[str, str], tuple[float, dict]], tie_credit: float = 0.5) -> None:
        self.verdict = verdict
        self.name = "judge"
        self.tie_credit = tie_credit

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        raise NotImplementedError("pairwise only")

    def compare(self, prompts: Sequence, responses_a: Sequence[str], responses_b: Sequence[str]) -> list[Preference]:
        preferences = []
        for a, b in zip(responses_a, responses_b, strict=True):
            p_a_better, meta = self.verdict(a, b)
            preferences.append(Preference(p_a_better, meta=meta))
        return preferences


def win_lose_reward(response: str) -> float:
    """1 for responses starting with "win", 0 otherwise: lets a test decide which rows a model gets right."""
    return 1.0 if response.startswith("win") else 0.0


def make_pairs(subset: str, category: str, n_rows: int, n_correct: int, start: int = 0) -> list[PreferencePair]:
    """`n_rows` pairs of which `win_lose_reward` gets exactly `n_correct` right (chosen "win..." in those)."""
    pairs = []
    for index in range(n_rows):
        good, bad = f"win {subset} {index}", f"lose {subset} {index}"
        chosen, rejected = (good, bad) if index < n_correct else (bad, good)
        pairs.append(
            PreferencePair(f"{subset}-{start + index}", f"question {index}", chosen, rejected, subset, category)
        )
    return pairs
