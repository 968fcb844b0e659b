"""Self-consistency over K sampled verdicts: aggregation and adaptive early stopping, as pure functions.

Majority vote over sampled judgements follows GenRM (Mahan et al. 2024, arXiv 2410.12832) and self-consistency
(Wang et al. 2022, arXiv 2203.11171). Two stopping rules end sampling early: `majority` stops once the samples still
to come cannot change the plurality winner (exact: the result equals that of all K samples); `beta` adds the
Beta stopping criterion of Adaptive-Consistency (Aggarwal et al. 2023, arXiv 2305.11860, section 3): stop once
the posterior probability that the current leader is the true majority, under a Beta(1 + leader, 1 + runner-up)
posterior on their vote shares, reaches a confidence threshold. Votes are strings; `None` is a sample whose
verdict failed to parse, which abstains (it is counted, never guessed).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Vote = str | None
StopRuleName = Literal["none", "majority", "beta"]
STOP_RULES = ("none", "majority", "beta")
AGGREGATES = ("majority", "mean")  # how votes become one value: plurality verdict, or the mean of votes


def vote_counts(votes: Sequence[Vote]) -> Counter[str]:
    """Counts of the parsed votes (failed parses abstain)."""
    return Counter(vote for vote in votes if vote is not None)


def top_two(counts: Counter[str]) -> tuple[int, int]:
    """Vote counts of the leader and the runner-up (0 where absent)."""
    ranked = [count for _, count in counts.most_common(2)] + [0, 0]
    return ranked[0], ranked[1]


def plurality(votes: Sequence[Vote]) -> str | None:
    """The most frequent parsed vote; None when there are no parsed votes or the top two are tied."""
    counts = vote_counts(votes)
    if not counts:
        return None
    (winner, leader), *rest = counts.most_common(2)
    if rest and rest[0][1] == leader:
        return None
    return winner


def majority_is_settled(votes: Sequence[Vote], remaining: int) -> bool:
    """True when `remaining` more votes cannot change the plurality winner (nor turn a lead into a tie)."""
    leader, runner_up = top_two(vote_counts(votes))
    return leader - runner_up > remaining


def beta_leader_confidence(leader: int, runner_up: int) -> float:
    """P(leader's true share > runner-up's) under Beta(1 + leader, 1 + runner_up): Adaptive-Consistency, section 3."""
    from scipy.stats import beta as beta_distribution

    return float(beta_distribution.sf(0.5, leader + 1, runner_up + 1))


def beta_is_confident(votes: Sequence[Vote], confidence: float) -> bool:
    """Adaptive-Consistency's Beta stopping criterion on the two most frequent votes."""
    leader, runner_up = top_two(vote_counts(votes))
    return leader > runner_up and beta_leader_confidence(leader, runner_up) >= confidence


@dataclass(frozen=True)
class StopRule:
    """When to stop drawing samples for one item: never early, once the majority is settled, or Beta-confident."""

    name: StopRuleName = "majority"
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if self.name not in STOP_RULES:
            raise ValueError(f"Unknown stop rule {self.name!r}: choose one of {', '.join(STOP_RULES)}")
        if not 0.5 < self.confidence < 1:
            raise ValueError(f"StopRule.confidence must be in (0.5, 1), got {self.confidence}")

    def should_stop(self, votes: Sequence[Vote], remaining: int) -> bool:
        """Whether the votes so far make the `remaining` samples unnecessary."""
        if remaining <= 0:
            return True
        if self.name == "none":
            return False
        settled = majority_is_settled(votes, remaining)
        return settled if self.name == "majority" else settled or beta_is_confident(votes, self.confidence)


def mean_or_none(values: Sequence[float]) -> float | None:
    """Arithmetic mean, or None for no values."""
    return sum(values) / len(values) if values else None


def pairwise_probability(votes: Sequence[Vote], values: dict[str, float], aggregate: str) -> float | None:
    """P(first response better) from verdict votes (values maps a verdict to its probability, e.g. A=1, B=0, C=0.5).

    `majority`: the plurality verdict's value (0.5 when the top two tie). `mean`: the mean value over parsed votes.
    None when no vote parsed.
    """
    parsed = [vote for vote in votes if vote is not None]
    if not parsed:
        return None
    if aggregate == "mean":
        return mean_or_none([values[vote] for vote in parsed])
    if aggregate == "majority":
        winner = plurality(parsed)
        return 0.5 if winner is None else values[winner]
    raise ValueError(f"Unknown aggregate {aggregate!r}: choose 'majority' or 'mean'")


def rating_estimate(votes: Sequence[Vote], aggregate: str) -> float | None:
    """A pointwise rating from rating votes ("1".."10"): the plurality rating (ties: mean of the tied) or the mean."""
    ratings = [float(vote) for vote in votes if vote is not None]
    if not ratings:
        return None
    if aggregate == "mean":
        return mean_or_none(ratings)
    if aggregate == "majority":
        counts = Counter(ratings)
        top = max(counts.values())
        return mean_or_none([rating for rating, count in counts.items() if count == top])
    raise ValueError(f"Unknown aggregate {aggregate!r}: choose 'majority' or 'mean'")
