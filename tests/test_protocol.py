"""The protocol is all that evaluation, serving and the CLI know of a model: they name no family class and no meta key
of a family, every family declares the protocol's attributes, and the typed diagnostics mean what they say."""

from __future__ import annotations

import ast
import re

import pytest

from rewardkit.protocol import (
    OrderReading,
    PreferenceDiagnostics,
    Score,
    Votes,
    compare_by_scoring,
    preferences_from_scores,
)
from tests.test_architecture import PACKAGE_ROOT

FAMILY_BLIND_PARTS = ("evaluation", "serving", "commands")
# Meta keys judges wrote before the protocol carried them as typed fields.
RETIRED_META_KEYS = ("p_a_by_order", "votes_by_order", "position_consistent", "parse_failed")


def family_classes() -> dict[str, list[str]]:
    """Class name -> names of the methods it defines, for every class defined in rewardkit/families."""
    classes = {}
    for path in sorted((PACKAGE_ROOT / "families").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef):
                classes[node.name] = [item.name for item in node.body if isinstance(item, ast.FunctionDef)]
    return classes


def class_attributes(name: str) -> set[str]:
    """Names assigned in a family class body, or defined there as properties."""
    for path in sorted((PACKAGE_ROOT / "families").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ClassDef) and node.name == name:
                assigned = {target.id for item in node.body if isinstance(item, ast.Assign) for target in item.targets}
                return assigned | {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
    raise KeyError(name)


def test_evaluation_serving_and_commands_name_no_family_class_and_no_retired_meta_key():
    words = sorted(family_classes()) + list(RETIRED_META_KEYS)
    pattern = re.compile(r"\b(" + "|".join(words) + r")\b")
    found = [
        f"{path.relative_to(PACKAGE_ROOT)}:{number}: {match.group(0)}"
        for part in FAMILY_BLIND_PARTS
        for path in sorted((PACKAGE_ROOT / part).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for match in pattern.finditer(line)
    ]
    assert "GenerativeJudge" in words and "ScalarRewardModel" in words  # the list is the real one
    assert found == []


def test_every_family_model_declares_tie_credit_and_capabilities():
    models = [name for name, methods in family_classes().items() if {"score", "compare"} <= set(methods)]
    assert len(models) >= 8
    missing = [name for name in models if not {"tie_credit", "capabilities"} <= class_attributes(name)]
    assert missing == []


def read(p_a_better: float, *verdicts: str | None) -> OrderReading:
    return OrderReading(p_a_better, Votes(verdicts, unreadable=all(verdict is None for verdict in verdicts)))


@pytest.mark.parametrize(
    ("orders", "agree"),
    [
        ((read(0.9, "A"), read(0.8, "B")), True),  # both orders prefer A
        ((read(0.9, "A"), read(0.1, "A")), False),  # each order prefers the response shown first
        ((read(0.5, "C"), read(0.5, "C")), True),  # both read a tie
        ((read(0.5, None), read(0.5, "C")), False),  # a tie by failure is no agreement
        ((read(0.9, "A"),), None),  # one order: nothing to compare
    ],
)
def test_orders_agree_is_position_consistency(orders, agree):
    assert PreferenceDiagnostics(orders=orders).orders_agree is agree


def test_first_order_keeps_the_first_reading_alone():
    diagnostics = PreferenceDiagnostics(orders=(read(0.5, None), read(0.9, "B")), unreadable=True)
    assert diagnostics.first_order() == PreferenceDiagnostics(orders=(read(0.5, None),), unreadable=True)


def test_preferences_from_scores_is_bradley_terry_and_keeps_both_scores():
    (near, far) = preferences_from_scores([Score(1.0), Score(800.0)], [Score(0.0), Score(-800.0)])
    assert near.p_a_better == pytest.approx(1 / (1 + 2.718281828459045**-1)) and far.p_a_better == 1.0
    assert (near.diagnostics.scores, far.diagnostics.scores) == ((1.0, 0.0), (800.0, -800.0))


def test_compare_by_scoring_scores_both_sides_in_one_call():
    calls = []

    def score(prompts, responses):
        calls.append(list(responses))
        return [Score(float(len(response))) for response in responses]

    preferences = compare_by_scoring(score, ["p", "q"], ["long", "a"], ["s", "bb"], meta=lambda a, b: {"n": 1})
    assert calls == [["long", "a", "s", "bb"]]
    assert [p.diagnostics.scores for p in preferences] == [(4.0, 1.0), (1.0, 2.0)]
    assert preferences[0].meta == {"n": 1}
    with pytest.raises(ValueError, match="same length"):
        compare_by_scoring(score, ["p"], ["a", "b"], ["c"])
