"""Best-of-N records (`id, prompt, candidates, correct, reference`, optional `answer`, `reference_rm_scores`) and
math-question records (`id, question, solution, answer`), read with errors that name file:line and field.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rewardkit.data.errors import DataError
from rewardkit.data.math_answers import extract_answer, is_correct
from rewardkit.protocol import Prompt

DEFAULT_MATH_INSTRUCTION = "Solve the problem step by step. End with a line of the form '#### <final answer>'."
_KNOWN_BON_FIELDS = ("id", "prompt", "candidates", "correct", "reference", "answer", "reference_rm_scores")


@dataclass
class BonItem:
    """One prompt with N sampled candidate responses and the gold correctness of each."""

    id: str
    prompt: Prompt
    candidates: list[str]
    correct: list[bool]
    reference: str | None = None
    answer: str | None = None
    reference_rm_scores: list[float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON row: known fields (optional ones only when set) followed by any extra fields."""
        row: dict[str, Any] = {"id": self.id, "prompt": self.prompt, "candidates": self.candidates}
        row.update(correct=self.correct, reference=self.reference)
        if self.answer is not None:
            row["answer"] = self.answer
        if self.reference_rm_scores is not None:
            row["reference_rm_scores"] = self.reference_rm_scores
        return row | self.extra


@dataclass
class MathQuestion:
    """A math word problem with its gold final answer (GSM8K train format)."""

    id: str
    question: str
    answer: str
    solution: str | None = None


def _iter_json_rows(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every non-blank line, with a file:line error on bad JSON or a non-object row."""
    if not path.is_file():
        raise DataError(str(path), "file not found", hint="Check the --data path.")
    with path.open(encoding="utf-8") as lines:
        for line_number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError(str(path), f"invalid JSON ({error.msg})", line=line_number) from error
            except RecursionError:
                raise DataError(str(path), "nests deeper than the JSON parser can follow", line=line_number) from None
            if not isinstance(row, dict):
                raise DataError(str(path), f"expected a JSON object, got {type(row).__name__}", line=line_number)
            yield line_number, row


def _type_names(expected: type | tuple[type, ...]) -> str:
    return "/".join(kind.__name__ for kind in (expected if isinstance(expected, tuple) else (expected,)))


def _has_type(value: Any, expected: type | tuple[type, ...]) -> bool:
    """isinstance, except that a bool does not pass for an int or float."""
    return isinstance(value, expected) and (expected is bool or not isinstance(value, bool))


def _require(row: dict[str, Any], name: str, expected: type | tuple[type, ...], where: tuple[str, int]) -> Any:
    if name not in row:
        raise DataError(where[0], "missing", line=where[1], field=name)
    if not _has_type(row[name], expected):
        reason = f"expected {_type_names(expected)}, got {type(row[name]).__name__}"
        raise DataError(where[0], reason, line=where[1], field=name)
    return row[name]


def _check_list(values: list, name: str, element: type | tuple[type, ...], where: tuple[str, int]) -> None:
    for index, value in enumerate(values):
        if not _has_type(value, element):
            reason = f"element {index} is {type(value).__name__}, expected {_type_names(element)}"
            raise DataError(where[0], reason, line=where[1], field=name)


def _check_same_length(values: list, name: str, candidates: list, where: tuple[str, int]) -> None:
    if len(values) != len(candidates):
        reason = f"has {len(values)} entries for {len(candidates)} candidates; the lengths must match"
        raise DataError(where[0], reason, line=where[1], field=name)


def _check_prompt(prompt: Any, where: tuple[str, int]) -> Prompt:
    messages_ok = isinstance(prompt, list) and all(
        isinstance(message, dict) and {"role", "content"} <= set(message) for message in prompt
    )
    if isinstance(prompt, str) or (messages_ok and prompt):
        return prompt
    raise DataError(where[0], "expected a string or a list of {role, content} messages", line=where[1], field="prompt")


def _optional_reference_scores(row: dict[str, Any], candidates: list, where: tuple[str, int]) -> list[float] | None:
    if row.get("reference_rm_scores") is None:
        return None
    scores = _require(row, "reference_rm_scores", list, where)
    _check_list(scores, "reference_rm_scores", (int, float), where)
    _check_same_length(scores, "reference_rm_scores", candidates, where)
    return [float(score) for score in scores]


def _optional_text(row: dict[str, Any], name: str, where: tuple[str, int]) -> str | None:
    return None if row.get(name) is None else _require(row, name, str, where)


def parse_bon_row(row: dict[str, Any], where: tuple[str, int]) -> BonItem:
    """Validate one Best-of-N row; `where` is (path, line) for error messages."""
    candidates = _require(row, "candidates", list, where)
    correct = _require(row, "correct", list, where)
    _check_list(candidates, "candidates", str, where)
    _check_list(correct, "correct", bool, where)
    if not candidates:
        raise DataError(where[0], "needs at least one candidate", line=where[1], field="candidates")
    _check_same_length(correct, "correct", candidates, where)
    return BonItem(
        id=str(_require(row, "id", (str, int), where)),
        prompt=_check_prompt(_require(row, "prompt", (str, list), where), where),
        candidates=candidates,
        correct=correct,
        reference=_optional_text(row, "reference", where),
        answer=_optional_text(row, "answer", where),
        reference_rm_scores=_optional_reference_scores(row, candidates, where),
        extra={key: value for key, value in row.items() if key not in _KNOWN_BON_FIELDS},
    )


def read_bon_jsonl(path: str | Path, limit: int | None = None) -> list[BonItem]:
    """Read a Best-of-N JSONL file (first `limit` rows); bad rows raise DataError naming file:line and field."""
    path = Path(path)
    items: list[BonItem] = []
    seen_ids: dict[str, int] = {}
    for line_number, row in _iter_json_rows(path):
        if limit is not None and len(items) >= limit:
            break
        item = parse_bon_row(row, (str(path), line_number))
        if item.id in seen_ids:
            reason = f"duplicate id {item.id!r} (first on line {seen_ids[item.id]})"
            raise DataError(str(path), reason, line=line_number, field="id")
        seen_ids[item.id] = line_number
        items.append(item)
    if not items:
        raise DataError(str(path), "holds no rows")
    return items


def write_bon_jsonl(items: Iterable[BonItem], path: str | Path) -> Path:
    """Write Best-of-N records as JSON Lines (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as output:
        for item in items:
            output.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    return path


def _parse_question_row(row: dict[str, Any], where: tuple[str, int]) -> MathQuestion:
    question_field = "question" if "question" in row else "prompt"
    question = _require(row, question_field, str, where)
    solution = row.get("solution", row.get("reference"))
    if "answer" in row:
        answer = str(_require(row, "answer", (str, int, float), where))
    elif isinstance(solution, str) and extract_answer(solution) is not None:
        answer = extract_answer(solution)
    else:
        raise DataError(where[0], "missing (and no 'solution' to extract it from)", line=where[1], field="answer")
    return MathQuestion(
        id=str(_require(row, "id", (str, int), where)),
        question=question,
        answer=answer,
        solution=solution if isinstance(solution, str) else None,
    )


def read_math_questions(path: str | Path, limit: int | None = None) -> list[MathQuestion]:
    """Read GSM8K-style rows (`id, question|prompt, answer` and/or `solution|reference` ending in `#### answer`);
    the Best-of-N files qualify, so candidates can be regenerated for their questions."""
    path = Path(path)
    questions: list[MathQuestion] = []
    for line_number, row in _iter_json_rows(path):
        if limit is not None and len(questions) >= limit:
            break
        questions.append(_parse_question_row(row, (str(path), line_number)))
    if not questions:
        raise DataError(str(path), "holds no rows")
    return questions


def math_prompt(question: str, instruction: str = DEFAULT_MATH_INSTRUCTION) -> str:
    """The user turn for a math question: the question, then the answer-format instruction."""
    return f"{question}\n\n{instruction}" if instruction else question


def build_bon_items(
    questions: Sequence[MathQuestion],
    candidates: Sequence[Sequence[str]],
    generation: dict,
    instruction: str = DEFAULT_MATH_INSTRUCTION,
) -> list[BonItem]:
    """Best-of-N records with `correct` from the final-answer checker and how they were generated (`generation`:
    model and sampling settings, recorded with the instruction)."""
    return [
        BonItem(
            id=question.id,
            prompt=math_prompt(question.question, instruction),
            candidates=list(texts),
            correct=[is_correct(text, question.answer) for text in texts],
            reference=question.solution,
            answer=question.answer,
            extra={"generation": {**generation, "instruction": instruction}},
        )
        for question, texts in zip(questions, candidates, strict=True)
    ]
