import itertools

import pytest

from rewardkit.inference.voting import (
    StopRule,
    beta_leader_confidence,
    majority_is_settled,
    pairwise_probability,
    plurality,
    rating_estimate,
    vote_counts,
)

PAIRWISE_VALUES = {"A": 1.0, "B": 0.0, "C": 0.5}


def test_vote_counts_skip_failed_parses():
    assert vote_counts(["A", None, "A", "B"]) == {"A": 2, "B": 1}


@pytest.mark.parametrize(
    ("votes", "winner"),
    [(["A", "A", "B"], "A"), (["A", "B"], None), ([None, None], None), ([], None), ([None, "B"], "B")],
)
def test_plurality(votes, winner):
    assert plurality(votes) == winner


@pytest.mark.parametrize(
    ("votes", "remaining", "settled"),
    [
        (["A", "A", "A"], 2, True),
        (["A", "A", "B"], 1, False),  # one more B would tie
        (["A", "A", "B"], 0, True),
        ([], 1, False),
        ([None, None, "A"], 0, True),
    ],
)
def test_majority_is_settled(votes, remaining, settled):
    assert majority_is_settled(votes, remaining) is settled


def _stopped_votes(sequence, rule):
    for drawn in range(1, len(sequence) + 1):
        if rule.should_stop(sequence[:drawn], len(sequence) - drawn):
            return sequence[:drawn]
    return sequence


def test_majority_rule_never_changes_the_result_of_all_samples():
    rule = StopRule("majority")
    saved = 0
    for sequence in itertools.product(["A", "B", None], repeat=5):
        stopped = _stopped_votes(list(sequence), rule)
        assert plurality(stopped) == plurality(list(sequence)), sequence
        saved += len(sequence) - len(stopped)
    assert saved > 0


def test_beta_confidence_matches_closed_form():
    # Beta(5, 1): P(p > 1/2) = 1 - 0.5**5
    assert beta_leader_confidence(4, 0) == pytest.approx(1 - 0.5**5)
    assert beta_leader_confidence(3, 3) == pytest.approx(0.5)


def test_beta_rule_stops_before_the_exact_rule():
    votes = ["A"] * 4
    assert not StopRule("majority").should_stop(votes, remaining=4)
    assert StopRule("beta", confidence=0.95).should_stop(votes, remaining=4)
    assert not StopRule("beta", confidence=0.99).should_stop(votes, remaining=4)


def test_none_rule_only_stops_when_nothing_remains():
    assert not StopRule("none").should_stop(["A"] * 7, remaining=1)
    assert StopRule("none").should_stop(["A"], remaining=0)


@pytest.mark.parametrize(("name", "confidence"), [("sometimes", 0.9), ("beta", 0.4), ("beta", 1.0)])
def test_stop_rule_rejects_bad_settings(name, confidence):
    with pytest.raises(ValueError, match="StopRule|stop rule"):
        StopRule(name, confidence)


def test_pairwise_probability_majority_and_mean():
    votes = ["A", "A", "B", None]
    assert pairwise_probability(votes, PAIRWISE_VALUES, "majority") == 1.0
    assert pairwise_probability(votes, PAIRWISE_VALUES, "mean") == pytest.approx(2 / 3)
    assert pairwise_probability(["A", "B"], PAIRWISE_VALUES, "majority") == 0.5
    assert pairwise_probability(["C", "C", "A"], PAIRWISE_VALUES, "majority") == 0.5
    assert pairwise_probability([None, None], PAIRWISE_VALUES, "mean") is None
    with pytest.raises(ValueError, match="aggregate"):
        pairwise_probability(["A"], PAIRWISE_VALUES, "median")


def test_rating_estimate():
    assert rating_estimate(["7", "7", "3", None], "majority") == 7.0
    assert rating_estimate(["7", "3"], "majority") == 5.0  # tie: mean of the tied ratings
    assert rating_estimate(["7", "7", "4"], "mean") == 6.0
    assert rating_estimate([None], "mean") is None
