"""Final-answer extraction and equivalence for math solutions: GSM8K (`#### 42`, "The answer is 42", last number)
and MATH-style `\\boxed{...}` (Hendrycks et al. 2021, arXiv 2103.03874), used as the gold checker for Best-of-N.
"""

from __future__ import annotations

import re
from fractions import Fraction

_BOX_COMMANDS = ("\\boxed", "\\fbox")
_CALCULATOR_ANNOTATION = re.compile(r"<<[^<>]*>>")
_NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|-?\.\d+"
_NUMBER_PATTERN = re.compile(rf"(?<![\w.])(?:{_NUMBER})(?:\s*/\s*\d+(?![\d.]))?")
_MARKERS = (
    re.compile(r"####\s*(?P<answer>[^\n]*)"),
    re.compile(r"answer\s+is\s*:?\s*(?P<answer>[^\n]*)", re.IGNORECASE),
    re.compile(r"(?:^|\n)\s*(?:final\s+)?answer\s*:\s*(?P<answer>[^\n]*)", re.IGNORECASE),
    re.compile(r"(?:^|\n)\s*A\s*:\s*(?P<answer>[^\n]*)"),
)
_TEXT_WRAPPERS = re.compile(r"\\(?:text|textbf|textit|mbox|mathrm|mathbf|operatorname)\s*\{([^{}]*)\}")
_LATEX_NOISE = ("\\left", "\\right", "\\!", "\\,", "\\;", "\\:", "\\ ", "^\\circ", "^{\\circ}", "\\%", "%", "\\$", "$")
_NUMBER_WITH_UNIT = re.compile(rf"^(?P<number>{_NUMBER})(?P<unit>[a-z]{{2,}}\.?)$")
_PLAIN_FRACTION = re.compile(r"^(?P<sign>-?)(?P<numerator>\d+)/(?P<denominator>\d+)$")
_LATEX_FRACTION = re.compile(r"^(?P<sign>-?)(?P<whole>\d*)\\frac\{(?P<numerator>-?\d+)\}\{(?P<denominator>-?\d+)\}$")
_BARE_FRACTION_ARGUMENTS = re.compile(r"\\frac(\d)(\d)")
_SINGLE_VARIABLE_ASSIGNMENT = re.compile(r"^[a-zA-Z]\w?=(?P<value>.+)$")


def _matching_brace_end(text: str, open_index: int) -> int | None:
    """Index of the `}` closing the `{` at open_index, or None when the braces never balance."""
    depth = 0
    for index in range(open_index, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return index
    return None


def extract_boxed(text: str) -> str | None:
    """Content of the last `\\boxed{...}` (or `\\fbox{...}`, or `\\boxed 5`), nested braces kept intact."""
    command, start = max(((command, text.rfind(command)) for command in _BOX_COMMANDS), key=lambda found: found[1])
    if start < 0:
        return None
    rest_start = start + len(command)
    stripped = text[rest_start:].lstrip()
    if not stripped.startswith("{"):
        bare = re.match(r"[^\s$]+", stripped)
        return bare.group(0) if bare else None
    open_index = len(text) - len(stripped)
    close_index = _matching_brace_end(text, open_index)
    if close_index is None:
        return None
    return text[open_index + 1 : close_index].strip()


def extract_last_number(text: str) -> str | None:
    """The last number in the text (commas, decimals, negatives and a/b fractions understood)."""
    numbers = _NUMBER_PATTERN.findall(_CALCULATOR_ANNOTATION.sub("", text))
    return numbers[-1].replace(" ", "") if numbers else None


def _answer_after_marker(text: str) -> str | None:
    """What follows the last answer marker (`####`, "the answer is", "Answer:", "A:"), or None."""
    for marker in _MARKERS:
        matches = list(marker.finditer(text))
        if matches:
            return matches[-1].group("answer").strip()
    return None


def extract_answer(text: str) -> str | None:
    """Final answer of a solution: `\\boxed{}`, else a marker's (first) number, else the last number in the text."""
    boxed = extract_boxed(text)
    if boxed is not None:
        return boxed
    after_marker = _answer_after_marker(_CALCULATOR_ANNOTATION.sub("", text))
    if after_marker:
        if as_fraction(normalize_answer(after_marker)) is not None:
            return after_marker.rstrip(".").strip()
        numbers = _NUMBER_PATTERN.findall(after_marker)
        return numbers[0].replace(" ", "") if numbers else after_marker.rstrip(".").strip()
    return extract_last_number(text)


def _strip_latex_noise(answer: str) -> str:
    for _ in range(3):
        answer = _TEXT_WRAPPERS.sub(r"\1", answer)
    for noise in _LATEX_NOISE:
        answer = answer.replace(noise, "")
    answer = answer.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    return _BARE_FRACTION_ARGUMENTS.sub(r"\\frac{\1}{\2}", answer)


def _canonical_number(answer: str) -> str:
    """`1,000.50` -> `1000.5`, `42.0` -> `42`; anything not a plain number is returned unchanged."""
    if not re.fullmatch(_NUMBER, answer):
        return answer
    value = Fraction(answer.replace(",", ""))
    return str(value.numerator) if value.denominator == 1 else answer.replace(",", "").rstrip("0")


def normalize_answer(answer: str) -> str:
    """Canonical text of an answer: LaTeX decorations, $, %, units, spaces, trailing periods and commas removed."""
    normalized = _strip_latex_noise(answer.strip())
    normalized = re.sub(r"\s+", "", normalized).rstrip(".")
    if normalized.startswith("{") and _matching_brace_end(normalized, 0) == len(normalized) - 1:
        normalized = normalized[1:-1]
    assignment = _SINGLE_VARIABLE_ASSIGNMENT.match(normalized)
    if assignment:
        normalized = assignment.group("value")
    with_unit = _NUMBER_WITH_UNIT.match(normalized)
    if with_unit:
        normalized = with_unit.group("number")
    return _canonical_number(normalized)


def as_fraction(normalized: str) -> Fraction | None:
    """The exact rational value of a normalized answer (`-0.5`, `3/4`, `\\frac{3}{4}`, `2\\frac{1}{2}`), else None."""
    if re.fullmatch(_NUMBER, normalized):
        return Fraction(normalized.replace(",", ""))
    plain = _PLAIN_FRACTION.match(normalized) or _LATEX_FRACTION.match(normalized)
    if plain is None or int(plain.group("denominator")) == 0:
        return None
    value = Fraction(int(plain.group("numerator")), int(plain.group("denominator")))
    whole = plain.groupdict().get("whole")
    if whole:
        value += int(whole)
    return -value if plain.group("sign") else value


def answer_key(answer: str | None) -> str | None:
    """A key under which equal answers collide (for majority voting): the exact value if numeric, else the text."""
    if answer is None:
        return None
    normalized = normalize_answer(answer)
    value = as_fraction(normalized)
    return str(value) if value is not None else normalized


def answers_equal(predicted: str | None, gold: str | None) -> bool:
    """True when two final answers agree after normalization (numbers compared exactly, `42.0 == 42`, `1/2 == 0.5`)."""
    if predicted is None or gold is None:
        return False
    key = answer_key(predicted)
    return key != "" and key == answer_key(gold)


def is_correct(solution: str, gold_answer: str) -> bool:
    """Whether a full solution's extracted final answer equals the gold answer."""
    return answers_equal(extract_answer(solution), gold_answer)
