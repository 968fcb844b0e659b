"""Log-sigmoid centred rewards and their sum (Wang et al. 2024, arXiv 2402.00742), by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from rewardkit.families.transforms import (
    LogSigmoidCombinedRewardModel,
    combine_transformed,
    log_sigmoid_centered,
    quantile_reference,
)
from rewardkit.protocol import Score


def log_sigmoid(x: float) -> float:
    return math.log(1 / (1 + math.exp(-x)))


class TableModel:
    def __init__(self, table: dict[str, float]) -> None:
        self.table, self.name, self.calls = table, "table", 0

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        self.calls += 1
        return [Score(self.table[response]) for response in responses]

    def compare(self, prompts, responses_a, responses_b):
        raise NotImplementedError


def test_log_sigmoid_centered_by_hand_and_stable():
    values = log_sigmoid_centered([2.0, 0.0, -1.0], [1.0, 0.0, 1.0])
    assert values == pytest.approx([log_sigmoid(1.0), math.log(0.5), log_sigmoid(-2.0)])
    extreme = log_sigmoid_centered([1000.0, -1000.0], [0.0, 0.0])
    assert extreme == pytest.approx([0.0, -1000.0])  # saturates above the reference, linear far below it
    assert np.all(np.isfinite(extreme))


def test_quantile_reference_per_prompt():
    assert quantile_reference([[1.0, 2.0, 3.0], [10.0, 0.0]], 0.5) == pytest.approx([2.0, 5.0])
    assert quantile_reference([[1.0, 2.0, 3.0]], 1.0) == pytest.approx([3.0])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        quantile_reference([[1.0]], 1.5)


def test_sum_of_transformed_rewards_is_a_soft_and():
    # Response 0 is good on both properties; response 1 is great on the first and bad on the second.
    helpful, harmless = [1.0, 6.0], [1.0, -3.0]
    references = [[0.0, 0.0], [0.0, 0.0]]
    combined = combine_transformed([helpful, harmless], references)
    assert combined == pytest.approx([2 * log_sigmoid(1.0), log_sigmoid(6.0) + log_sigmoid(-3.0)])
    assert combined[0] > combined[1]  # while the raw sum prefers response 1 (3 > 2)
    weighted = combine_transformed([helpful, harmless], references, weights=[2.0, 0.0])
    assert weighted == pytest.approx([2 * log_sigmoid(1.0), 2 * log_sigmoid(6.0)])
    with pytest.raises(ValueError, match="weights"):
        combine_transformed([helpful], [references[0]], weights=[1.0, 2.0])


def test_combined_model_scores_against_reference_responses():
    first = TableModel({"good": 2.0, "bad": -1.0, "ref": 0.5})
    second = TableModel({"good": 1.0, "bad": 3.0, "ref": 1.0})
    model = LogSigmoidCombinedRewardModel([first, second], reference_response=lambda prompt: "ref")
    scores = model.score(["p", "p"], ["good", "bad"])
    assert [s.value for s in scores] == pytest.approx(
        [log_sigmoid(1.5) + log_sigmoid(0.0), log_sigmoid(-1.5) + log_sigmoid(2.0)]
    )
    assert scores[1].meta == {"rewards": [-1.0, 3.0], "reference_rewards": [0.5, 1.0]}
    assert first.calls == 1  # responses and references go through one batched call per model
    [preference] = model.compare(["p"], ["good"], ["bad"])
    assert preference.p_a_better == pytest.approx(1 / (1 + math.exp(scores[1].value - scores[0].value)))
