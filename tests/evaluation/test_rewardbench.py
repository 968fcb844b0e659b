"""RewardBench scoring: subset/section weighting, ties, positions, bootstrap CIs and judge diagnostics."""

from __future__ import annotations

import pytest

from rewardkit.data.schema import PreferencePair
from rewardkit.evaluation.rewardbench import correctness, evaluate_pairs
from rewardkit.protocol import PreferenceDiagnostics
from tests.evaluation.fakes import JudgeModel, ScoreTableModel, make_pairs, read_in_orders, win_lose_reward


def evaluate(model, pairs, **options):
    options = {"bootstrap_samples": 200, "master_key_rows": 0, "progress": False} | options
    return evaluate_pairs(model, pairs, **options)


def rewardbench_example() -> list[PreferencePair]:
    """chat: subsets of 2 rows (2 right) and 5 rows (1 right); safety: 3 rows (3 right); plus prior and train rows."""
    return [
        *make_pairs("chat-two", "chat", n_rows=2, n_correct=2),
        *make_pairs("chat-five", "chat", n_rows=5, n_correct=1),
        *make_pairs("safety-three", "safety", n_rows=3, n_correct=3),
        *make_pairs("prior", "prior_sets", n_rows=4, n_correct=1),
        *make_pairs("train-set", "train", n_rows=2, n_correct=0),
    ]


def test_sections_weight_subsets_by_example_count():
    result = evaluate(ScoreTableModel(win_lose_reward), rewardbench_example())

    assert result.subsets["chat-two"].accuracy == 1.0
    assert result.subsets["chat-five"].accuracy == pytest.approx(1 / 5)
    # chat = (2 + 1) / (2 + 5) = 3/7, not the unweighted subset mean (1 + 0.2) / 2 = 0.6
    assert result.sections["chat"].accuracy == pytest.approx(3 / 7)
    assert result.sections["chat"].n == 7
    assert result.sections["safety"].accuracy == 1.0
    # mean over sections present = (3/7 + 1) / 2, not the pooled 6/10; prior sets and train are not in it
    assert result.mean_of_sections.accuracy == pytest.approx((3 / 7 + 1) / 2)
    assert set(result.sections) == {"chat", "safety"}
    assert result.prior_sets.accuracy == pytest.approx(1 / 4)
    assert result.other_sections["train"].accuracy == 0.0


@pytest.mark.parametrize(("tie_credit", "expected"), [(0.0, 0.0), (0.5, 0.5)])
def test_tie_earns_the_models_tie_credit(tie_credit, expected):
    model = ScoreTableModel(lambda response: 0.0, tie_credit=tie_credit)

    result = evaluate(model, make_pairs("ties", "chat", n_rows=6, n_correct=3))

    assert result.tie_credit == tie_credit
    assert result.sections["chat"].accuracy == expected
    assert all(row.p_chosen == 0.5 for row in result.rows)


def test_correctness_follows_rewardbench_rule():
    assert correctness([0.9, 0.1, 0.5, 0.5000001], tie_credit=0.5).tolist() == [1.0, 0.0, 0.5, 1.0]


def test_position_bias_cannot_score_above_chance():
    always_a = JudgeModel(lambda a, b: (1.0, PreferenceDiagnostics()))

    result = evaluate(always_a, make_pairs("any", "chat", n_rows=40, n_correct=40))

    assert result.sections["chat"].accuracy == 0.5
    assert sum(row.chosen_first for row in result.rows) == 20


def test_scores_are_oriented_to_chosen_and_rejected():
    model = ScoreTableModel(lambda response: float(len(response)))
    pairs = [PreferencePair(f"row-{i}", "q", "x" * (i + 2), "y", "s", "chat") for i in range(8)]

    result = evaluate(model, pairs)

    assert {row.chosen_first for row in result.rows} == {True, False}
    for row, pair in zip(result.rows, pairs, strict=True):
        assert (row.score_chosen, row.score_rejected) == (len(pair.chosen), len(pair.rejected))
        assert row.p_chosen > 0.5 and row.correct == 1.0


def test_bootstrap_interval_contains_estimate_and_is_seeded():
    pairs = make_pairs("a", "chat", 30, 20) + make_pairs("b", "chat", 20, 5) + make_pairs("c", "reasoning", 25, 20)
    model = ScoreTableModel(win_lose_reward)

    first, again = evaluate(model, pairs, seed=3), evaluate(model, pairs, seed=3)
    other_seed = evaluate(model, pairs, seed=4)

    for score in [*first.sections.values(), first.mean_of_sections]:
        assert score.ci_low <= score.accuracy <= score.ci_high
        assert score.ci_low < score.ci_high
    assert first.sections == again.sections and first.mean_of_sections == again.mean_of_sections
    assert other_seed.sections["chat"].accuracy == first.sections["chat"].accuracy
    assert (other_seed.sections["chat"].ci_low, other_seed.sections["chat"].ci_high) != (
        first.sections["chat"].ci_low,
        first.sections["chat"].ci_high,
    )


def test_bootstrap_interval_shrinks_with_more_rows():
    model = ScoreTableModel(win_lose_reward)

    small = evaluate(model, make_pairs("s", "chat", 40, 28)).sections["chat"]
    large = evaluate(model, make_pairs("s", "chat", 400, 280)).sections["chat"]

    assert small.accuracy == large.accuracy == 0.7
    assert (large.ci_high - large.ci_low) < 0.5 * (small.ci_high - small.ci_low)


def test_judge_diagnostics_count_parse_failures_and_consistency():
    def verdict(a, b):
        if "3" in a or "3" in b:
            return 0.5, read_in_orders(0.5, 0.5, verdicts=[(None,), ("A",)])
        agree = "1" not in a
        return 0.9, read_in_orders(0.9, 0.9 if agree else 0.1)

    result = evaluate(JudgeModel(verdict), make_pairs("j", "chat", n_rows=6, n_correct=6))

    assert result.judge.parse_failures == 1
    assert result.judge.n_position_checked == 6
    assert result.judge.position_consistency_rate == pytest.approx(4 / 6)
    assert sum(row.unreadable for row in result.rows) == 1


def test_models_without_judge_meta_report_no_diagnostics():
    result = evaluate(ScoreTableModel(win_lose_reward), make_pairs("s", "chat", 4, 2))

    assert result.judge.parse_failures is None
    assert result.judge.position_consistency_rate is None


def test_throughput_is_recorded():
    result = evaluate(ScoreTableModel(win_lose_reward), make_pairs("s", "chat", 10, 5))

    assert result.seconds > 0
    assert result.pairs_per_second == pytest.approx(10 / result.seconds)


def test_probability_outside_unit_interval_is_an_error():
    with pytest.raises(ValueError, match=r"p_a_better=1\.5 for row 's-0'"):
        evaluate(JudgeModel(lambda a, b: (1.5, PreferenceDiagnostics())), make_pairs("s", "chat", 2, 1))


def test_subset_in_two_categories_is_an_error():
    pairs = make_pairs("mixed", "chat", 2, 1) + make_pairs("mixed", "safety", 2, 1, start=2)

    with pytest.raises(ValueError, match="subset 'mixed' has category 'chat'.*'safety'"):
        evaluate(ScoreTableModel(win_lose_reward), pairs)


def test_empty_input_is_an_error():
    with pytest.raises(ValueError, match="no preference pairs"):
        evaluate(ScoreTableModel(win_lose_reward), [])


def test_a_both_orders_judge_is_also_scored_from_its_first_order_alone():
    def position_biased(a, b):  # the (A, B) order always says A; the (B, A) order reads the answers right
        p_first, p_second = 1.0, win_lose_reward(a)
        return (p_first + p_second) / 2, read_in_orders(p_first, p_second, verdicts=[("A",), (None,)], forced=[1, 0])

    result = evaluate(JudgeModel(position_biased), make_pairs("j", "chat", n_rows=8, n_correct=8))

    assert result.mean_of_sections.accuracy == pytest.approx(0.75)  # right when chosen is A, a tie otherwise
    first = result.first_order
    assert first.mean_of_sections.accuracy == pytest.approx(0.5)  # always A: right in the chosen-first half
    assert first.master_key is None and first.judge.position_consistency_rate is None
    assert (first.judge.votes, first.judge.forced_votes, first.judge.failed_votes) == (8, 8, 0)
    assert (result.judge.votes, result.judge.failed_votes) == (16, 8)


def test_single_order_models_have_no_first_order_result():
    result = evaluate(JudgeModel(lambda a, b: (1.0, read_in_orders(1.0))), make_pairs("j", "chat", 4, 4))

    assert result.first_order is None
