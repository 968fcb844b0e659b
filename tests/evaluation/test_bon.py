"""Best-of-N expectations against brute-force enumeration of every N-subset (with ties), and the evaluation loop."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import pytest

from rewardkit.data.bon_data import BonItem
from rewardkit.evaluation.bon import (
    best_of_n_kl,
    evaluate_best_of_n,
    expected_best_of_n,
    majority_vote_accuracy,
    oracle_at_n,
    resolve_max_n,
    score_all_candidates,
    selection_probabilities,
)
from rewardkit.families.ensemble import EnsembleRewardModel
from rewardkit.protocol import Preference, Score


class TableRewardModel:
    """Reward = table[response]; counts how many responses it was asked to score."""

    def __init__(self, table: dict[str, float], name: str = "table") -> None:
        self.table, self.name, self.scored = table, name, 0

    def score(self, prompts: Sequence, responses: Sequence[str]) -> list[Score]:
        self.scored += len(responses)
        return [Score(self.table[response]) for response in responses]

    def compare(self, prompts, responses_a, responses_b) -> list[Preference]:
        raise NotImplementedError


def brute_force_pick(scores, values, n) -> Fraction:
    """Mean over all n-subsets of the mean value of the subset's top-scored candidates (uniform tie-break)."""
    total = Fraction(0)
    subsets = list(itertools.combinations(range(len(scores)), n))
    for subset in subsets:
        best = max(scores[i] for i in subset)
        winners = [i for i in subset if scores[i] == best]
        total += Fraction(sum(values[i] for i in winners), len(winners))
    return total / len(subsets)


def brute_force_majority(keys, correct, n) -> Fraction:
    """Mean over all n-subsets: the modal answer class wins (uniform over tied classes), then a uniform member of
    that class within the subset is the pick; unparsed answers (None) are classes of their own.
    """
    total = Fraction(0)
    subsets = list(itertools.combinations(range(len(keys)), n))
    for subset in subsets:
        classes: dict[object, list[int]] = {}
        for i in subset:
            classes.setdefault(keys[i] if keys[i] is not None else ("unparsed", i), []).append(i)
        top = max(len(members) for members in classes.values())
        winners = [members for members in classes.values() if len(members) == top]
        total += sum(Fraction(sum(correct[i] for i in m), len(m)) for m in winners) / len(winners)
    return total / len(subsets)


def random_cases(count: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    for _ in range(count):
        size = int(rng.integers(1, 8))
        scores = rng.integers(0, 3, size).tolist()  # few levels: many ties
        correct = (rng.random(size) < 0.5).tolist()
        keys = [None if rng.random() < 0.2 else str(rng.integers(0, 3)) for _ in range(size)]
        yield scores, correct, keys


def test_selection_probabilities_match_brute_force_with_ties():
    for scores, correct, _ in random_cases(150):
        for n in range(1, len(scores) + 1):
            probabilities = selection_probabilities(scores, n)
            assert probabilities.sum() == pytest.approx(1.0)
            assert expected_best_of_n(scores, correct, n) == pytest.approx(float(brute_force_pick(scores, correct, n)))


def test_selection_probabilities_by_hand():
    # Distinct scores: P(i picked) = C(rank_below_i, N-1) / C(M, N); M=4, N=2 -> 0, 1/6, 2/6, 3/6.
    assert selection_probabilities([0.1, 0.2, 0.3, 0.4], 2) == pytest.approx([0, 1 / 6, 2 / 6, 3 / 6])
    # Two tied at the top: they hold the max unless both are left out (1 of 6 pairs), sharing 5/6 equally.
    assert selection_probabilities([1.0, 1.0, 0.0, 0.0], 2) == pytest.approx([5 / 12, 5 / 12, 1 / 12, 1 / 12])
    assert selection_probabilities([2.0, 2.0, 2.0], 3) == pytest.approx([1 / 3] * 3)


def test_oracle_matches_brute_force():
    for _, correct, _ in random_cases(60, seed=1):
        for n in range(1, len(correct) + 1):
            subsets = list(itertools.combinations(correct, n))
            assert oracle_at_n(correct, n) == pytest.approx(sum(any(s) for s in subsets) / len(subsets))


def test_majority_vote_matches_brute_force_with_ties_and_unparsed_answers():
    for _, correct, keys in random_cases(150, seed=2):
        exact = majority_vote_accuracy(keys, correct, len(keys))
        expected = [float(brute_force_majority(keys, correct, n)) for n in range(1, len(keys) + 1)]
        assert exact == pytest.approx(expected, abs=1e-12)


def test_majority_vote_with_inconsistent_flags_inside_a_class():
    # Class "a" has 2 members, one flagged correct: the pick is a uniform member of the winning class.
    keys, correct = ["a", "a", "b"], [True, False, True]
    assert majority_vote_accuracy(keys, correct, 3) == pytest.approx(
        [float(brute_force_majority(keys, correct, n)) for n in (1, 2, 3)]
    )
    assert majority_vote_accuracy(keys, correct, 3)[2] == pytest.approx(0.5)


def test_subset_size_is_checked():
    with pytest.raises(ValueError, match="between 1 and the number of candidates"):
        selection_probabilities([1.0, 2.0], 3)
    items = [BonItem("a", "p", ["x", "y"], [True, False]), BonItem("b", "p", ["x", "y", "z"], [True] * 3)]
    assert resolve_max_n(items, None) == 2
    with pytest.raises(ValueError, match="--max-n <= 2"):
        resolve_max_n(items, 3)


def make_items() -> list[BonItem]:
    return [
        BonItem("q1", "p1", ["The answer is 4", "The answer is 5", "#### 4"], [True, False, True]),
        BonItem("q2", "p2", ["A: 7", "A: 8", "A: 8"], [True, False, False], reference_rm_scores=[3.0, 1.0, 2.0]),
    ]


def test_evaluate_scores_each_candidate_once_and_is_exact():
    items = make_items()
    table = {"The answer is 4": 1.0, "The answer is 5": 3.0, "#### 4": 2.0, "A: 7": 5.0, "A: 8": 0.0}
    model = TableRewardModel(table)
    result = evaluate_best_of_n([("table", model)], items, "toy", batch_size=2, progress=False)
    assert model.scored == 6
    curve = next(curve for curve in result.selectors if curve.name == "table")
    # q1: picks "The answer is 5" (wrong) whenever it is in the subset; q2 always keeps "A: 7" best when present.
    expected = [
        np.mean([expected_best_of_n([1, 3, 2], [1, 0, 1], n), expected_best_of_n([5, 0, 0], [1, 0, 0], n)])
        for n in (1, 2, 3)
    ]
    assert curve.gold == pytest.approx(expected)
    assert curve.gold[2] == pytest.approx(0.5)
    assert curve.proxy[0] == pytest.approx(0.0, abs=1e-12)  # z-scored: the N=1 pick is the mean candidate
    assert curve.proxy == sorted(curve.proxy)
    baselines = {curve.name: curve.gold for curve in result.baselines}
    assert baselines["random pick"] == pytest.approx([(2 / 3 + 1 / 3) / 2] * 3)
    assert baselines["oracle (any correct)"] == pytest.approx([0.5, 5 / 6, 1.0])
    assert baselines["majority answer"][2] == pytest.approx(0.5)  # q1: "4" wins (correct); q2: "8" wins (wrong)
    assert not any(curve.name.startswith("reference RM") for curve in result.selectors)  # q1 has no scores
    assert result.answers_extracted == 1.0


def test_several_models_add_ensemble_curves_and_ensembles_add_member_curves():
    items = make_items()
    first = TableRewardModel({"The answer is 4": 1, "The answer is 5": 3, "#### 4": 2, "A: 7": 5, "A: 8": 0})
    second = TableRewardModel({"The answer is 4": 3, "The answer is 5": 0, "#### 4": 1, "A: 7": 0, "A: 8": 2})
    result = evaluate_best_of_n([("a", first), ("b", second)], items, "toy", progress=False)
    names = [curve.name for curve in result.selectors]
    assert names == ["a", "b", "ensemble mean", "ensemble wco", "ensemble uwo"]
    ensemble = EnsembleRewardModel([first, second], method="wco")
    result = evaluate_best_of_n([("ens", ensemble)], items, "toy", progress=False)
    names = [curve.name for curve in result.selectors]
    assert names == ["ens: member 0", "ens: member 1", "ens: ensemble mean", "ens: ensemble wco", "ens: ensemble uwo"]
    by_name = {curve.name: curve for curve in result.selectors}
    assert by_name["ens: member 0"].gold == pytest.approx(
        evaluate_best_of_n([("a", first)], items, "t").selectors[0].gold
    )


def test_score_all_candidates_groups_per_item_and_checks_counts():
    items = make_items()
    flat_table = dict.fromkeys(["The answer is 4", "The answer is 5", "#### 4", "A: 7", "A: 8"], 1.0)

    class DropsOne(TableRewardModel):
        def score(self, prompts, responses):
            return super().score(prompts, responses)[:-1]

    grouped = score_all_candidates(TableRewardModel(flat_table), items, batch_size=4, progress=False)
    assert [len(scores) for scores in grouped] == [3, 3]
    with pytest.raises(RuntimeError, match="returned 5 scores for 6 responses"):
        score_all_candidates(DropsOne(flat_table), items, batch_size=6, progress=False)


def test_score_all_candidates_keeps_a_prompts_candidates_in_one_call():
    """A scorer that shares a prompt's tokens across its responses must see all of them together."""
    items = make_items()
    flat_table = dict.fromkeys(["The answer is 4", "The answer is 5", "#### 4", "A: 7", "A: 8"], 1.0)
    calls: list[list[str]] = []

    class Recording(TableRewardModel):
        def score(self, prompts, responses):
            calls.append(list(prompts))
            return super().score(prompts, responses)

    score_all_candidates(Recording(flat_table), items, batch_size=4, progress=False)
    assert [len(call) for call in calls] == [3, 3], "batch_size 4 never cuts an item of 3 candidates"
    assert all(len(set(call)) == 1 for call in calls)


def test_reference_scores_in_data_give_a_curve():
    items = make_items()
    items[0].reference_rm_scores = [1.0, 0.0, 2.0]
    result = evaluate_best_of_n([], items, "toy", progress=False)
    curve = next(curve for curve in result.selectors if curve.name.startswith("reference RM"))
    assert curve.gold[-1] == pytest.approx((1.0 + 1.0) / 2)  # both items: the top-scored candidate is correct


def test_ensemble_curves_use_the_ensembles_own_lambda_unless_given():
    items = make_items()
    first = TableRewardModel({"The answer is 4": 1, "The answer is 5": 3, "#### 4": 2, "A: 7": 5, "A: 8": 0})
    second = TableRewardModel({"The answer is 4": 3, "The answer is 5": 0, "#### 4": 1, "A: 7": 0, "A: 8": 2})
    ensemble = EnsembleRewardModel([first, second], uwo_lambda=2.0)

    def uwo_proxy(**kwargs):
        result = evaluate_best_of_n([("e", ensemble)], items, "toy", progress=False, **kwargs)
        return next(curve.proxy for curve in result.selectors if curve.name == "e: ensemble uwo")

    assert uwo_proxy() == pytest.approx(uwo_proxy(uwo_lambda=2.0))
    assert uwo_proxy() != pytest.approx(uwo_proxy(uwo_lambda=0.0))


def test_best_of_n_kl_matches_the_closed_form():
    assert best_of_n_kl(1) == 0.0
    assert best_of_n_kl(4) == pytest.approx(np.log(4) - 0.75)
    assert best_of_n_kl(16) == pytest.approx(2.7726 - 0.9375, abs=1e-4)
    with pytest.raises(ValueError, match="n must be >= 1"):
        best_of_n_kl(0)
