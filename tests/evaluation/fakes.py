"""Fake reward models for evaluation tests: each implements the RewardModel protocol and nothing more."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rewardkit.data.schema import PreferencePair
from rewardkit.protocol import (
    Capabilities,
    OrderReading,
    Preference,
    PreferenceDiagnostics,
    Score,
    UnsupportedOperation,
    Votes,
)


class ScoreTableModel:
    """A scalar model whose reward is `reward(response)`; compare = sigmoid(r_a - r_b), reporting both scores."""

    capabilities = Capabilities()

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
            diagnostics = PreferenceDiagnostics(scores=(r_a, r_b))
            preferences.append(Preference(1 / (1 + math.exp(r_b - r_a)), diagnostics=diagnostics))
        return preferences


class JudgeModel:
    """A pairwise judge defined by `verdict(a, b) -> (p_a_better, diagnostics)`; it has no pointwise score."""

    capabilities = Capabilities(score=False)

    def __init__(
        self, verdict: Callable[[str, str], tuple[float, PreferenceDiagnostics]], tie_credit: float = 0.5
    ) -> None:
        self.verdict = verdict
        self.name = "judge"
        self.tie_credit = tie_credit

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        raise UnsupportedOperation("pairwise only")

    def compare(self, prompts: Sequence, responses_a: Sequence[str], responses_b: Sequence[str]) -> list[Preference]:
        preferences = []
        for a, b in zip(responses_a, responses_b, strict=True):
            p_a_better, diagnostics = self.verdict(a, b)
            preferences.append(Preference(p_a_better, diagnostics=diagnostics))
        return preferences


def read_in_orders(*p_a_by_order: float, verdicts: Sequence[Sequence[str | None]] = (), forced: Sequence[int] = ()):
    """Diagnostics of a judge that read the pair in the given orders (each as P(A better)), with those votes."""
    verdicts = verdicts or [("A",)] * len(p_a_by_order)
    forced = forced or [0] * len(p_a_by_order)
    orders = tuple(
        OrderReading(p, Votes(tuple(votes), count, unreadable=all(vote is None for vote in votes)))
        for p, votes, count in zip(p_a_by_order, verdicts, forced, strict=True)
    )
    return PreferenceDiagnostics(orders=orders, unreadable=any(order.votes.unreadable for order in orders))


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
