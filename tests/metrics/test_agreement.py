"""Agreement with gold ratings against hand-computed values; parse failures are counted and left out."""

from __future__ import annotations

import pytest

from rewardkit.commands.judge_cmd import summarize
from rewardkit.metrics.agreement import gold_rating, rating_agreement


def test_agreement_matches_hand_computed_values_and_excludes_failures():
    # Parsed: predicted 1,2,3,4 vs gold 1,3,2,4. Deviations from the mean 2.5: x = -1.5,-.5,.5,1.5 and
    # y = -1.5,.5,-.5,1.5; sum(xy) = 4, sum(x^2) = sum(y^2) = 5, so Pearson = 0.8 (Spearman too: the values are ranks).
    # Exact: 1 and 4 match (2 of 4); within one: all 4. The failed 10-vs-1 item would ruin every number if scored.
    report = rating_agreement([1, 2, 3, 10, 4], [1, 3, 2, 1, 4], [False, False, False, True, False])
    assert (report.n_items, report.n_scored, report.parse_failures) == (5, 4, 1)
    assert report.pearson == pytest.approx(0.8) and report.spearman == pytest.approx(0.8)
    assert report.exact == 0.5 and report.within_one == 1.0


def test_ratings_are_rounded_half_up_for_exact_agreement():
    report = rating_agreement([4.5, 2.4, 7.0], [5, 2, 9], [False] * 3)
    assert report.exact == pytest.approx(2 / 3) and report.within_one == pytest.approx(2 / 3)


def test_undefined_correlations_are_none():
    constant = rating_agreement([5, 5, 5], [4, 5, 8], [False] * 3)
    assert constant.pearson is None and constant.spearman is None
    assert constant.exact == pytest.approx(1 / 3) and constant.within_one == pytest.approx(2 / 3)
    nothing = rating_agreement([5, 5], [1, 2], [True, True])
    assert (nothing.n_scored, nothing.parse_failures, nothing.exact, nothing.within_one) == (0, 2, None, None)
    with pytest.raises(ValueError, match="lengths differ"):
        rating_agreement([1], [1, 2], [False])


def test_gold_ratings_are_read_from_strings_with_a_clear_error():
    assert gold_rating("6", "row 1") == 6.0
    with pytest.raises(ValueError, match="row 'r3': gold score 'six' is not a number"):
        gold_rating("six", "row 'r3'")


def test_judge_summary_reports_agreement_when_rows_have_gold_scores():
    records = [
        {"id": "a", "rating": 2.0, "gold_score": "2", "unreadable": False},
        {"id": "b", "rating": 5.5, "gold_score": "1", "unreadable": True},
        {"id": "c", "rating": 7.0, "gold_score": "8", "unreadable": False},
    ]
    summary = summarize(records, seconds=1.0)
    assert summary["unreadable_rows"] == 1
    agreement = summary["agreement"]
    assert (agreement["n_scored"], agreement["parse_failures"]) == (2, 1)
    assert agreement["exact"] == 0.5 and agreement["within_one"] == 1.0 and agreement["pearson"] == pytest.approx(1.0)


def test_judge_summary_explains_non_numeric_gold_scores_instead_of_failing():
    records = [{"id": "a", "rating": 2.0, "gold_score": "good", "unreadable": False}]
    summary = summarize(records, seconds=1.0)
    assert "agreement" not in summary and "gold score 'good' is not a number" in summary["agreement_error"]
