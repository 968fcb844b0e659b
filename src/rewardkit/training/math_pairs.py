"""Correct-vs-wrong solution pairs from GSM8K-style reference solutions (Cobbe et al. 2021, arXiv 2110.14168).

The rejected side is the reference with a seeded mistake that changes the final answer: either a slip in the last
calculation, or a wrong operand early on whose effect is carried through every later calculator annotation
(`<<48/2=24>>24`), so the wrong solution stays arithmetically self-consistent like a real model's wrong sample.
The final line is written `A: <answer>` on both sides, the form of OpenAI's GSM8K model samples.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from fractions import Fraction

from rewardkit.data.schema import PreferencePair

_ANNOTATION = re.compile(r"<<(?P<expression>[^<>=]+)=(?P<result>[^<>]+)>>(?P<shown>-?\d[\d,]*(?:\.\d+)?)?")
_ARITHMETIC = re.compile(r"[\d\s+\-*/().]+")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?(?![\d.])")
_FINAL_ANSWER = re.compile(r"\n?####\s*(?P<answer>[^\n]*)\s*$")


def _evaluate(expression: str) -> Fraction | None:
    """Exact value of a calculator expression made of numbers, + - * / and parentheses; None otherwise."""
    if not _ARITHMETIC.fullmatch(expression) or "**" in expression:
        return None
    exact = _NUMBER.sub(lambda match: f"Fraction('{match.group()}')", expression)
    try:
        value = eval(exact, {"__builtins__": {}, "Fraction": Fraction})  # noqa: S307 - digits and operators only
    except (ArithmeticError, SyntaxError, TypeError):
        return None
    return value if isinstance(value, Fraction) else Fraction(value)


def _format(value: Fraction) -> str:
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}".rstrip("0").rstrip(".")


def _as_number(text: str) -> Fraction | None:
    try:
        return Fraction(text.replace(",", "").strip())
    except (ValueError, ZeroDivisionError):
        return None


def wrong_value(value: Fraction, rng: random.Random) -> Fraction:
    """A plausible wrong number near `value`: off by a little, a factor of ten, or a doubling/halving."""
    candidates = [value + offset for offset in (-10, -2, -1, 1, 2, 5, 10)] + [value * 10, value * 2]
    if value.denominator == 1 and value.numerator % 2 == 0:
        candidates.append(value / 2)
    candidates = [candidate for candidate in candidates if candidate != value and (candidate >= 0 or value < 0)]
    return rng.choice(candidates)


def _replace_last(text: str, old: str, new: str) -> str:
    """`text` with the last standalone occurrence of the number `old` replaced by `new`."""
    matches = [match for match in _NUMBER.finditer(text) if match.group() == old]
    if not matches:
        return text
    last = matches[-1]
    return text[: last.start()] + new + text[last.end() :]


def _carry(text: str, changed: dict[str, str]) -> str:
    """Numbers that an earlier (now wrong) calculation produced take their new values."""
    return _NUMBER.sub(lambda number: changed.get(number.group(), number.group()), text)


def _rewrite_annotations(solution: str, start: int, operand: tuple[str, str]) -> tuple[str, dict[str, str]]:
    """Swap one operand of calculation `start` (in the annotation and the text before it), then re-run every later
    calculation with the changed results carried through; returns the new solution and old -> new results."""
    changed: dict[str, str] = {}
    pieces, cursor = [], 0
    for index, match in enumerate(_ANNOTATION.finditer(solution)):
        lead, expression = solution[cursor : match.start()], match.group("expression")
        if index == start:
            lead, expression = _replace_last(lead, *operand), _replace_last(expression, *operand)
        elif index > start:
            lead, expression = _carry(lead, changed), _carry(expression, changed)
        value = _evaluate(expression) if index >= start else None
        annotation = match.group()
        if value is not None:
            result = _format(value)
            if result != match.group("result").strip():
                changed[match.group("result").strip()] = result
            annotation = f"<<{expression}={result}>>{result if match.group('shown') else ''}"
        pieces.append(lead + annotation)
        cursor = match.end()
    return "".join(pieces) + _carry(solution[cursor:], changed), changed


def _propagated_operand_error(body: str, answer: str, rng: random.Random) -> tuple[str, str] | None:
    """(wrong body, wrong answer) from changing one operand of a calculation, or None when that is not possible."""
    annotations = list(_ANNOTATION.finditer(body))
    candidates = [index for index, match in enumerate(annotations) if _NUMBER.search(match.group("expression"))]
    if not candidates:
        return None
    start = rng.choice(candidates)
    operand = rng.choice(_NUMBER.findall(annotations[start].group("expression")))
    new_operand = _format(wrong_value(Fraction(operand), rng))
    new_body, changed = _rewrite_annotations(body, start, (operand, new_operand))
    new_answer = changed.get(answer.replace(",", "").strip())
    if new_answer is None:
        return None
    return new_body, new_answer


def _final_step_slip(body: str, answer: str, rng: random.Random) -> tuple[str, str]:
    """(wrong body, wrong answer): the last calculation (when it yields the answer) and the answer both wrong."""
    answer_value = _as_number(answer)
    if answer_value is None:
        return body, f"{answer}0"
    wrong = _format(wrong_value(answer_value, rng))
    annotations = list(_ANNOTATION.finditer(body))
    last = annotations[-1] if annotations else None
    if last is None or _as_number(last.group("result")) != answer_value:
        return body, wrong
    shown = wrong if last.group("shown") else ""
    return body[: last.start()] + f"<<{last.group('expression')}={wrong}>>{shown}" + body[last.end() :], wrong


def corrupt_solution(solution: str, rng: random.Random) -> tuple[str, str]:
    """(correct solution, wrong solution), both ending in `A: <answer>`; raises ValueError without `#### answer`."""
    match = _FINAL_ANSWER.search(solution)
    if match is None:
        raise ValueError("solution has no final '#### <answer>' line")
    body, answer = solution[: match.start()].rstrip(), match.group("answer").strip()
    wrong = _propagated_operand_error(body, answer, rng) if rng.random() < 0.5 else None
    wrong_body, wrong_answer = wrong or _final_step_slip(body, answer, rng)
    return f"{body}\nA: {answer}", f"{wrong_body}\nA: {wrong_answer}"


def build_math_pairs(rows: Sequence[tuple[str, str, str]], seed: int) -> list[PreferencePair]:
    """Pairs (reference vs seeded wrong solution) from (id, question, solution) rows."""
    rng = random.Random(seed)
    pairs = []
    for row_id, question, solution in rows:
        chosen, rejected = corrupt_solution(solution, rng)
        pairs.append(
            PreferencePair(
                id=f"{row_id}-wrong",
                prompt=question,
                chosen=chosen,
                rejected=rejected,
                subset="gsm8k-ref-vs-corrupted",
                source="gsm8k",
                label_kind="constructed (seeded corruption of the reference)",
            )
        )
    return pairs
