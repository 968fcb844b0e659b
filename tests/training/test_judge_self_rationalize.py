"""Self-Rationalization pairs: the judgement closest to gold against a far one, with a margin; failures never pair."""

from __future__ import annotations

import pytest

from rewardkit.families.generative import WrittenJudgement
from rewardkit.families.judge_templates import get_template
from rewardkit.families.verdicts import ParsedVerdict
from rewardkit.training.judge_data import PointwiseExample
from rewardkit.training.self_rationalize import check_gold_on_scale, closest_and_farthest, rating_dpo_records

TEMPLATE = get_template("pointwise-1-10")


def rated(rating: int | None, text: str = "Because.") -> WrittenJudgement:
    if rating is None:
        return WrittenJudgement(text, ParsedVerdict(None, "no_verdict", text))
    return WrittenJudgement(f"{text}\nRating: [[{rating}]]", ParsedVerdict(str(rating), "ok", text))


def item(gold: float, name: str = "x") -> PointwiseExample:
    return PointwiseExample(name, "q", "a", f"PROMPT-{name}", gold)


def test_closest_to_gold_is_preferred_over_the_farthest():
    samples = [rated(5, "Mid."), rated(None), rated(9, "High."), rated(3, "Low.")]
    chosen, rejected = closest_and_farthest(samples, gold=4.0, margin=2.0)
    assert (chosen.parsed.verdict, rejected.parsed.verdict) == ("5", "9")  # |5-4| = 1 (first of the ties), |9-4| = 5


def test_pairs_need_the_margin_and_a_parsed_judgement():
    assert closest_and_farthest([rated(4), rated(6)], gold=5.0, margin=1.0) is None  # both 1 away
    assert closest_and_farthest([rated(5), rated(6)], gold=5.0, margin=1.0) is not None
    assert closest_and_farthest([rated(5), rated(6)], gold=5.0, margin=1.5) is None
    assert closest_and_farthest([rated(None), rated(None)], gold=5.0, margin=0.0) is None
    assert closest_and_farthest([rated(None), rated(7)], gold=5.0, margin=0.0)[0].parsed.verdict == "7"


def test_rating_dpo_records_use_the_plain_prompt_and_canonical_targets():
    examples = [item(2.0, "low"), item(8.0, "flat")]
    samples = [[rated(2, "Weak."), rated(9, "Great.")], [rated(8), rated(8)]]
    assert rating_dpo_records(TEMPLATE, examples, samples, margin=2.0) == [
        {"prompt": "PROMPT-low", "chosen": "Weak.\nRating: [[2]]", "rejected": "Great.\nRating: [[9]]"}
    ]


def test_gold_scores_must_be_on_the_template_scale():
    check_gold_on_scale(TEMPLATE, [item(1.0), item(10.0)])
    with pytest.raises(ValueError, match=r"gold scores \[7.0\] are not on template 'pointwise-1-5'"):
        check_gold_on_scale(get_template("pointwise-1-5"), [item(2.0), item(7.0)])
