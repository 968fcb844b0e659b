"""Reward transformation and combination of Wang et al. 2024, "Transforming and Combining Rewards for Aligning
Large Language Models" (arXiv 2402.00742): u(x, y) = log σ(r(x, y) − r_ref(x)) centred on a per-prompt reference
reward, and the sum of several transformed rewards as a soft logical AND of the properties they measure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rewardkit.protocol import Capabilities, Preference, Prompt, RewardModel, Score, compare_by_scoring


def log_sigmoid_centered(rewards: Sequence[float], reference_rewards: Sequence[float]) -> np.ndarray:
    """u = log σ(r − r_ref) (Wang et al. 2024): near 0 above the reference, ≈ r − r_ref far below it."""
    margin = np.asarray(rewards, dtype=float) - np.asarray(reference_rewards, dtype=float)
    return -np.logaddexp(0.0, -margin)


def quantile_reference(rewards_per_prompt: Sequence[Sequence[float]], quantile: float) -> np.ndarray:
    """r_ref(x) = the `quantile` of the rewards of x's sampled responses (e.g. 0.5 = median), one per prompt."""
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must lie in [0, 1], got {quantile}")
    return np.array([np.quantile(np.asarray(rewards, dtype=float), quantile) for rewards in rewards_per_prompt])


def combine_transformed(
    rewards: Sequence[Sequence[float]],
    reference_rewards: Sequence[Sequence[float]],
    weights: Sequence[float] | None = None,
) -> np.ndarray:
    """Σ_i w_i · log σ(r_i − r_ref,i) over reward models i (Wang et al. 2024): high only when every r_i beats its
    reference, unlike a plain sum of raw rewards, where one large reward hides another's failure.
    """
    if len(rewards) != len(reference_rewards):
        raise ValueError(f"{len(rewards)} reward lists but {len(reference_rewards)} reference lists")
    weights = np.ones(len(rewards)) if weights is None else np.asarray(weights, dtype=float)
    if len(weights) != len(rewards):
        raise ValueError(f"{len(weights)} weights for {len(rewards)} reward models")
    transformed = [log_sigmoid_centered(r, ref) for r, ref in zip(rewards, reference_rewards, strict=True)]
    return np.tensordot(weights, np.stack(transformed), axes=1)


class LogSigmoidCombinedRewardModel:
    """Reward model whose value is Σ_i w_i log σ(r_i(x, y) − r_i(x, y_ref(x))), y_ref a per-prompt reference."""

    tie_credit = 0.0
    capabilities = Capabilities()

    def __init__(
        self,
        models: Sequence[RewardModel],
        reference_response: Callable[[Prompt], str],
        weights: Sequence[float] | None = None,
        name: str | None = None,
    ) -> None:
        if not models:
            raise ValueError("need at least one reward model to transform")
        self.models = list(models)
        self.reference_response = reference_response
        self.weights = list(weights) if weights is not None else None
        self.name = name or "logsigmoid-sum(" + ",".join(m.name for m in self.models) + ")"

    def _rewards_and_references(self, prompts: Sequence[Prompt], responses: Sequence[str]):
        """Per model: (rewards of responses, rewards of the references), both from one batched score call."""
        references = [self.reference_response(prompt) for prompt in prompts]
        count = len(responses)
        both = [
            [score.value for score in model.score(list(prompts) * 2, list(responses) + references)]
            for model in self.models
        ]
        return [values[:count] for values in both], [values[count:] for values in both]

    def score(self, prompts: Sequence[Prompt], responses: Sequence[str]) -> list[Score]:
        """Combined transformed reward; meta carries each model's reward and reference reward."""
        rewards, references = self._rewards_and_references(prompts, responses)
        combined = combine_transformed(rewards, references, self.weights)
        return [
            Score(
                value=float(combined[i]),
                meta={"rewards": [r[i] for r in rewards], "reference_rewards": [r[i] for r in references]},
            )
            for i in range(len(responses))
        ]

    def compare(
        self, prompts: Sequence[Prompt], responses_a: Sequence[str], responses_b: Sequence[str]
    ) -> list[Preference]:
        """p(A better) = σ(u(A) − u(B))."""
        return compare_by_scoring(self.score, prompts, responses_a, responses_b)
