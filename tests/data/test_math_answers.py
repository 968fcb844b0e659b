"""Final-answer extraction and equivalence on tricky GSM8K and MATH-style cases, and against the shared gold flags."""

from __future__ import annotations

import json

import pytest

from rewardkit.data.math_answers import (
    answer_key,
    answers_equal,
    extract_answer,
    extract_boxed,
    extract_last_number,
    is_correct,
    normalize_answer,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She has 3 apples.\n#### 1,000", "1,000"),
        ("So she earns $18.00 per hour.\nThe answer is $18.00 per hour.", "$18.00 per hour"),
        ("It takes 2+1=<<2+1=3>>3 bolts\nA: 3", "3"),
        ("First 12, then it drops to -7.", "-7"),
        ("Total: <<5*4=20>>20 cookies, so 20 cookies.", "20"),
        ("costs 5-3 = 2 dollars", "2"),
        ("The answer is: 42.", "42"),
        ("Answer: 3/4", "3/4"),
        ("#### 5\nThe final answer is", "5"),
        ("no digits at all", None),
    ],
)
def test_extract_answer_gsm8k_styles(text, expected):
    assert extract_answer(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (r"so $\boxed{\frac{1}{2}}$.", r"\frac{1}{2}"),
        (r"\boxed{\left( 3, \frac{\pi}{2} \right)}", r"\left( 3, \frac{\pi}{2} \right)"),
        (r"first \boxed{1} then \boxed{ 2 }", "2"),
        (r"\boxed 5 apples", "5"),
        (r"\fbox{7}", "7"),
        (r"\boxed{\frac{1}{2}", None),
        ("nothing boxed", None),
    ],
)
def test_extract_boxed_keeps_nested_braces_and_takes_the_last(text, expected):
    assert extract_boxed(text) == expected


def test_boxed_answer_wins_over_later_numbers():
    assert extract_answer(r"The result is $\boxed{12}$. Check: 3 * 4 = 12, step 99.") == "12"


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("42.0", "42"),
        ("1,234.50", "1234.5"),
        ("$18", "18"),
        ("50\\%", "50"),
        ("90^\\circ", "90"),
        ("\\text{(C)}", "(C)"),
        ("12 cm", "12"),
        ("x = 5", "5"),
        ("\\dfrac{3}{4}", "\\frac{3}{4}"),
        ("\\frac34", "\\frac{3}{4}"),
        ("42.", "42"),
        ("4a-2", "4a-2"),
    ],
)
def test_normalize_answer(raw, normalized):
    assert normalize_answer(raw) == normalized


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [
        ("42.0", "42"),
        ("1,000", "1000"),
        ("$1,000.00", "1000"),
        ("0.5", "\\frac{1}{2}"),
        ("1/2", "\\dfrac{1}{2}"),
        ("-\\frac{3}{4}", "-0.75"),
        ("12\\frac{3}{5}", "63/5"),
        ("\\frac{1}{9}", "\\dfrac{1}{9}"),
        ("-7", "-7.00"),
        ("18 dollars", "18"),
    ],
)
def test_answers_equal_true(predicted, gold):
    assert answers_equal(predicted, gold)


@pytest.mark.parametrize(
    ("predicted", "gold"),
    [("-3", "3"), ("0.33", "\\frac{1}{3}"), ("12", "1.2"), (None, "3"), ("", ""), ("4a-2", "4a+2"), ("1/0", "0")],
)
def test_answers_equal_false(predicted, gold):
    assert not answers_equal(predicted, gold)


def test_answer_key_groups_equal_answers():
    assert answer_key("0.50") == answer_key("\\frac{1}{2}") == answer_key("1/2") == "1/2"
    assert answer_key(None) is None


def test_extract_last_number_ignores_calculator_annotations():
    assert extract_last_number("She pays 2*3=<<2*3=6>>6 dollars") == "6"


@pytest.mark.integration
def test_checker_reproduces_shared_gold_flags(shared_data):
    """The checker agrees with the upstream correctness flags on every candidate of both Best-of-N files."""
    disagreements, total = 0, 0
    for row in map(json.loads, (shared_data / "bon" / "qwen25math_math100_bon8.jsonl").open()):
        for candidate, flag in zip(row["candidates"], row["correct"], strict=True):
            disagreements += is_correct(candidate, row["answer"]) != flag
            total += 1
    for row in map(json.loads, (shared_data / "bon" / "gsm8k_test_candidates_dev.jsonl").open()):
        gold = extract_answer(row["reference"])
        for candidate, flag in zip(row["candidates"], row["correct"], strict=True):
            disagreements += is_correct(candidate, gold) != flag
            total += 1
    assert total == 800 + 662 * 4
    assert disagreements == 0
