"""The one protocol every reward model family implements: everything a caller may rely on (see DESIGN.md).

A model says what it can do (`capabilities`) and how an exact tie is credited (`tie_credit`); its judgements say
how they were reached in typed fields (`Preference.diagnostics`, `Score.votes`, `Score.members`). Evaluation,
Best-of-N, probes, the server and the CLI read only these, never a family's class or its free-form `meta`, so a new
family touches none of them. `meta` stays for what only the family itself and its own tools read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

Message = dict[str, str]
Prompt = str | list[Message]


class UnsupportedOperation(ValueError):
    """An operation the model's capabilities exclude (a pairwise-only judge asked for scores); the server answers 501.

    A ValueError, as `io.UnsupportedOperation` is, so the CLI reports it as the user's error, in one line.
    """


@dataclass(frozen=True)
class Capabilities:
    """What a model can do: pointwise `score`, pairwise `compare`, and whether both take `references=` (one
    reference answer per item, as reference-guided judges need; MT-Bench, arXiv 2306.05685, section 3.1)."""

    score: bool = True
    compare: bool = True
    references: bool = False


@dataclass(frozen=True)
class Votes:
    """The verdicts a generative judge read for one judged prompt: one per sample, None where a sample's verdict
    could not be read; `forced` of them were read after a rationale that ended without one. `unreadable`: no
    verdict at all could be read, so the value is the fallback (a tie, or the middle of the rating scale)."""

    verdicts: tuple[str | None, ...] = ()
    forced: int = 0
    unreadable: bool = False


@dataclass(frozen=True)
class OrderReading:
    """A pair judged in one presentation order: P(response A better), whichever position A was shown in."""

    p_a_better: float
    votes: Votes = field(default_factory=Votes)


def _preferred_side(p_a_better: float) -> str:
    return "a" if p_a_better > 0.5 else "b" if p_a_better < 0.5 else "tie"


@dataclass(frozen=True)
class PreferenceDiagnostics:
    """How a preference was reached. `scores`: the rewards of A and B when it came from two scores. `orders`: a
    judge's readings, (A, B) first, then (B, A) when both orders were judged (the debiasing of MT-Bench, arXiv
    2306.05685, section 3.4). `unreadable`: some verdict behind it could not be read (None: the model reads none)."""

    scores: tuple[float, float] | None = None
    orders: tuple[OrderReading, ...] = ()
    unreadable: bool | None = None

    @property
    def orders_agree(self) -> bool | None:
        """Position consistency: both orders prefer the same response (or both read a tie) and both were readable;
        None unless two orders were judged."""
        if len(self.orders) != 2:
            return None
        first, second = self.orders
        readable = not (first.votes.unreadable or second.votes.unreadable)
        return readable and _preferred_side(first.p_a_better) == _preferred_side(second.p_a_better)

    def first_order(self) -> PreferenceDiagnostics:
        """The (A, B) order alone: what a judge reading one order would have reported."""
        first = self.orders[0]
        return PreferenceDiagnostics(orders=(first,), unreadable=first.votes.unreadable)


@dataclass
class MemberRewards:
    """An aggregate's (an ensemble's) members behind one score: each member's reward on the common scale it
    aggregates, and the rule that combined them (`method`, with `uwo_lambda` for uncertainty-weighted)."""

    rewards: list[float]
    method: str
    uwo_lambda: float


@dataclass
class Score:
    """A pointwise judgement: a scalar value plus optional text (critique or rationale). `votes`: a judge's verdicts
    behind the value; `members`: an aggregate's member rewards; `meta`: what only the family itself reads."""

    value: float
    text: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    votes: Votes | None = None
    members: MemberRewards | None = None


@dataclass
class Preference:
    """A pairwise judgement: probability that response A is better than response B, and how it was reached."""

    p_a_better: float
    rationale: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    diagnostics: PreferenceDiagnostics = field(default_factory=PreferenceDiagnostics)


@runtime_checkable
class RewardModel(Protocol):
    """Anything that can score responses and compare pairs of responses to the same prompts.

    `capabilities` says which of the two it can do (the other raises UnsupportedOperation) and whether both take
    `references=` (then callers pass one reference answer per item). `tie_credit` is the accuracy credit of an exact
    tie (p = 0.5): 0 for scalar scores, where a tie means the model saw no difference, 0.5 for judges with a tie
    verdict (RewardBench, arXiv 2403.13787).
    """

    name: str
    tie_credit: float
    capabilities: Capabilities

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]: ...

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]: ...


def preferences_from_scores(
    scores_a: Sequence[Score],
    scores_b: Sequence[Score],
    meta: Callable[[Score, Score], dict[str, Any]] | None = None,
) -> list[Preference]:
    """The Bradley-Terry preference of two scores: P(A better) = σ(r_a − r_b), computed without overflow; the two
    rewards go to `diagnostics.scores`, `meta(a, b)` (when given) to `meta`."""
    rewards_a = np.array([score.value for score in scores_a], dtype=float)
    rewards_b = np.array([score.value for score in scores_b], dtype=float)
    probabilities = np.exp(-np.logaddexp(0.0, -(rewards_a - rewards_b)))
    return [
        Preference(
            p_a_better=float(p),
            meta=meta(a, b) if meta else {},
            diagnostics=PreferenceDiagnostics(scores=(a.value, b.value)),
        )
        for p, a, b in zip(probabilities, scores_a, scores_b, strict=True)
    ]


def compare_by_scoring(
    score: Callable[[Sequence[Prompt], Sequence[str]], list[Score]],
    prompts: Sequence[Prompt],
    responses_a: Sequence[str],
    responses_b: Sequence[str],
    meta: Callable[[Score, Score], dict[str, Any]] | None = None,
) -> list[Preference]:
    """`compare` of any model that scores: the A and B responses in one `score` call (one batched, length-sorted
    pass), then σ(r_a − r_b) per pair."""
    if not len(prompts) == len(responses_a) == len(responses_b):
        raise ValueError(
            f"inputs must have the same length, got {len(prompts)} prompts, {len(responses_a)} A and "
            f"{len(responses_b)} B responses"
        )
    scores = score([*prompts, *prompts], [*responses_a, *responses_b])
    return preferences_from_scores(scores[: len(prompts)], scores[len(prompts) :], meta)
