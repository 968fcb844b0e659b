"""Each benchmark's official rule on hand-computed examples, and the bootstrap that resamples prompts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from rewardkit.evaluation.benchmark_outcomes import resample_counts, units_of
from rewardkit.evaluation.judgebench import (
    FLIPPED,
    LABEL,
    NO_DECISION,
    decision_from_probability,
    decision_from_scores,
    judgebench_outcome,
    judgebench_statistics,
)
from rewardkit.evaluation.rewardbench2 import rewardbench2_outcome, rewardbench2_statistics, top_tie_credit
from rewardkit.evaluation.rmbench import cells_from_scores, rmbench_outcome, rmbench_statistics


def point(statistics, outcomes):
    units = units_of(outcomes)
    return {
        name: float(values[0]) for name, values in statistics(outcomes, units, np.ones((1, len(units.strata)))).items()
    }


def ties_outcomes(prompts):
    """Ties rows from {prompt: (ref (correct, incorrect), tied (correct, incorrect))} score lists."""
    outcomes = []
    for prompt, rows in prompts.items():
        for kind, (correct, incorrect) in zip(("ref", "tied"), rows, strict=True):
            fields = {"subset": "Ties", "domain": "Ties", "group": str(prompt)}
            outcomes.append(rewardbench2_outcome(f"{kind}:{prompt}", [*correct, *incorrect], len(correct), **fields))
    return outcomes


@pytest.mark.parametrize(
    ("scores", "credit"),
    [([5, 1, 1, 1], 1.0), ([2, 2, 1, 0], 0.5), ([3, 3, 1, 3], 1 / 3), ([1, 2, 0, 0], 0.0), ([0, 0, 0, 0], 0.25)],
)
def test_best_of_four_gives_one_over_k_when_the_chosen_ties_at_the_top(scores, credit):
    assert top_tie_credit(scores) == pytest.approx(credit)


def test_ties_formula_on_a_hand_computed_subset_with_zero_spreads():
    # prompt 0: ref gap 3-2 = 1 (accurate); tied correct 4,4 (spread 0) gap 3 (accurate); min gap 1 > 0;
    #           margin tanh(1/0 - 1) = tanh(inf) = 1
    # prompt 1: ref gap -1; tied spread 0, gap 0 (not accurate); min gap -1; margin tanh(-inf) = -1
    # prompt 2: ref gap 0; tied spread 0, gap 0: margin tanh(0/0 - 1) = nan -> 0
    outcomes = ties_outcomes(
        {
            0: (([3], [1, 2]), ([4, 4], [1])),
            1: (([1], [2]), ([2, 2], [2])),
            2: (([2], [2]), ([3, 3], [3])),
        }
    )

    scores = point(rewardbench2_statistics, outcomes)

    assert scores["Ties/ref_accuracy"] == pytest.approx(1 / 3)
    assert scores["Ties/tied_accuracy"] == pytest.approx(1 / 3)
    assert scores["Ties/correctness_preferred"] == pytest.approx(1 / 3)
    assert scores["Ties/correctness_preferred_hard"] == pytest.approx(1 / 3)
    assert scores["Ties/margin_score"] == pytest.approx(0.0)
    assert scores["Ties"] == pytest.approx(0.3 / 3 + 0.3 / 3 + 0.2 / 3 + 0.2 / 3)


def test_a_ties_prompt_with_zero_spread_and_zero_gap_adds_nothing_to_the_margin():
    outcomes = ties_outcomes({0: (([2], [1]), ([3, 3], [3]))})

    scores = point(rewardbench2_statistics, outcomes)

    assert scores["Ties/margin_score"] == 0.0
    assert scores["Ties"] == pytest.approx(0.30)  # only the ref row is accurate


def test_ties_margin_uses_the_smaller_gap_over_the_spread():
    outcomes = ties_outcomes({0: (([5], [1]), ([6, 4], [1]))})  # ref gap 4, tied gap 3, spread 2

    scores = point(rewardbench2_statistics, outcomes)

    assert scores["Ties/margin_score"] == pytest.approx(math.tanh(3 / 2 - 1))
    assert scores["Ties"] == pytest.approx(1.0 + 0.01 * math.tanh(0.5))


def test_overall_is_the_unweighted_mean_of_subsets():
    fields = {"subset": "Math", "domain": "Math"}
    math_rows = [
        rewardbench2_outcome("m1", [2, 2, 1, 0], 1, group="m1", **fields),
        rewardbench2_outcome("m2", [3, 0, 0, 0], 1, group="m2", **fields),
        rewardbench2_outcome("m3", [0, 1, 0, 0], 1, group="m3", **fields),
    ]
    outcomes = math_rows + ties_outcomes({0: (([2], [1]), ([3, 3], [3]))})

    scores = point(rewardbench2_statistics, outcomes)

    assert scores["Math"] == pytest.approx(0.5)
    assert scores["overall"] == pytest.approx((0.5 + 0.30) / 2)


def test_rmbench_matrix_triangles_and_the_mean_over_domains():
    # chosen [3, 2, 1] vs rejected [0, 2, 3.5]: cells [[1,1,0],[1,0,0],[1,0,0]] (2 vs 2 is not a win)
    # hard (above the diagonal) 1/3, normal 1/3, easy (below) 2/3, chat = 4/9; code wins every cell
    outcomes = [
        rmbench_outcome("c", cells_from_scores([3, 2, 1], [0, 2, 3.5]), subset="chat", domain="chat", group="c"),
        rmbench_outcome("k", cells_from_scores([9, 9, 9], [0, 0, 0]), subset="code", domain="code", group="k"),
    ]

    scores = point(rmbench_statistics, outcomes)

    assert (scores["chat/hard"], scores["chat/normal"], scores["chat/easy"]) == pytest.approx((1 / 3, 1 / 3, 2 / 3))
    assert scores["chat"] == pytest.approx(4 / 9)
    assert scores["code"] == 1.0
    assert scores["overall"] == pytest.approx((4 / 9 + 1) / 2)
    assert scores["overall/hard"] == pytest.approx(2 / 3)
    assert scores["style_bias"] == pytest.approx(5 / 6 - 2 / 3)


def test_judgebench_flip_tie_and_unparsable_verdicts():
    # label B>A: probabilities are P(A better) per order
    def outcome(row_id, p_first, p_second):
        decisions = [-decision_from_probability(p) for p in (p_first, p_second)]
        return judgebench_outcome(row_id, decisions, subset="livebench-math", domain="math", group=row_id)

    outcomes = [
        outcome("flip", 0.2, 0.9),  # +1 then -1: sum 0, wrong
        outcome("tie", 0.2, 0.5),  # +1 then tie: sum 1, right
        outcome("unparsable", None, 0.9),  # 0 then -1: wrong
        outcome("both", 0.1, 0.3),  # right
    ]

    assert [o.values for o in outcomes] == [[1, -1], [1, 0], [0, -1], [1, 1]]
    assert point(judgebench_statistics, outcomes) == {"math": 0.5, "overall": 0.5}


def test_judgebench_reward_models_decide_by_scores_with_equal_scores_counting_as_b():
    assert decision_from_scores(2.0, 1.0, chosen_first=True) == LABEL
    assert decision_from_scores(1.0, 1.0, chosen_first=True) == FLIPPED
    assert decision_from_scores(1.0, 1.0, chosen_first=False) == LABEL
    assert decision_from_probability(0.5) == decision_from_probability(None) == NO_DECISION


def test_judgebench_overall_pools_pairs_across_categories():
    outcomes = [
        judgebench_outcome("a", [1], subset="mmlu-pro-law", domain="knowledge", group="a"),
        judgebench_outcome("b", [-1], subset="mmlu-pro-law", domain="knowledge", group="b"),
        judgebench_outcome("c", [-1], subset="mmlu-pro-law", domain="knowledge", group="c"),
        judgebench_outcome("d", [1], subset="livecodebench", domain="coding", group="d"),
    ]

    assert point(judgebench_statistics, outcomes) == pytest.approx({"knowledge": 1 / 3, "coding": 1.0, "overall": 0.5})


def test_ties_rows_of_one_prompt_form_one_resampling_unit():
    outcomes = ties_outcomes({0: (([2], [1]), ([3, 3], [3])), 1: (([2], [1]), ([3, 3], [1]))})
    outcomes.append(rewardbench2_outcome("m", [1, 0, 0, 0], 1, subset="Math", domain="Math", group="m"))

    units = units_of(outcomes)
    counts = resample_counts(units.strata, samples=200, seed=0)

    assert units.strata == ["Ties", "Ties", "Math"] and units.rows == [[0, 1], [2, 3], [4]]
    assert (counts[:, :2].sum(axis=1) == 2).all() and (counts[:, 2] == 1).all()
    assert {tuple(row) for row in counts[:, :2]} == {(2, 0), (1, 1), (0, 2)}


def test_a_resampled_ties_score_is_the_formula_on_the_resampled_prompts():
    prompts = {0: (([3], [1, 2]), ([4, 4], [1])), 1: (([1], [2]), ([2, 2], [2])), 2: (([5], [1]), ([6, 4], [1]))}
    outcomes = ties_outcomes(prompts)
    units = units_of(outcomes)
    weights = np.array([[2.0, 0.0, 1.0]])  # prompt 0 drawn twice, prompt 1 not, prompt 2 once

    resampled = rewardbench2_statistics(outcomes, units, weights)
    drawn = ties_outcomes({0: prompts[0], 10: prompts[0], 2: prompts[2]})

    assert float(resampled["Ties"][0]) == pytest.approx(point(rewardbench2_statistics, drawn)["Ties"])
