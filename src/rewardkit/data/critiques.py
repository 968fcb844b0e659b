"""Critique data for CLoud: pointwise critique rows (../shared/data/train/autoj_critiques.jsonl) and preference
pairs with one critique per response (the JSONL `rewardkit train cloud-critiques` writes).

A critiqued pair is a PreferencePair whose `extra` holds `chosen_critique` and `rejected_critique`, written flat
next to the pair fields; `read_pairs` (and so `rewardkit train bt`) reads the same file as plain pairs. Bad rows
raise a DataError naming file, line and field, as the pair readers do.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO, TypeVar

from rewardkit.data.errors import DataError, RowError
from rewardkit.data.formats import pair_to_record, parse_prompt, record_to_pair
from rewardkit.data.readers import open_rows
from rewardkit.data.schema import PreferencePair
from rewardkit.protocol import Prompt

CRITIQUE_FIELDS = ("chosen_critique", "rejected_critique")
Row = TypeVar("Row")
logger = logging.getLogger(__name__)


@dataclass
class CritiqueRow:
    """One response to a prompt with a written critique and the critic's score (higher is better)."""

    id: str
    prompt: Prompt
    response: str
    critique: str
    score: float
    scenario: str = ""


def _text(record: Mapping[str, Any], name: str, allow_empty: bool = False) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not (allow_empty or value.strip()):
        found = "missing" if value is None else f"{type(value).__name__} {value!r:.40}"
        raise RowError(name, f"must be a {'' if allow_empty else 'non-empty '}string, found {found}")
    return value


def _prompt(record: Mapping[str, Any]) -> Prompt:
    if record.get("prompt") is None:
        raise RowError("prompt", f"is missing (the row has: {', '.join(sorted(record))})")
    return parse_prompt(record["prompt"])


def _score(value: Any) -> float:
    """A finite number; numeric strings (CSV cells, the README's "score as a string") are accepted."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise RowError("score", f"is {value!r}, not a number", "Give the critic's score, e.g. 7.") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RowError("score", f"is {value!r}, expected a finite number", "Give the critic's score, e.g. 7.")
    return float(value)


def critique_row_from_record(record: Any, default_id: str) -> CritiqueRow:
    """One pointwise critique record -> CritiqueRow, or a RowError naming the bad field. An empty response is
    kept: its critique (and low score) is what a critic should say about an empty answer."""
    if not isinstance(record, Mapping):
        raise RowError(None, f"is a {type(record).__name__}, expected an object with prompt/response/critique/score")
    scenario = record.get("scenario")
    return CritiqueRow(
        id=str(record.get("id") or default_id),
        prompt=_prompt(record),
        response=_text(record, "response", allow_empty=True),
        critique=_text(record, "critique"),
        score=_score(record.get("score")),
        scenario=scenario if isinstance(scenario, str) else "",
    )


def critiqued_pair_from_record(record: Any, default_id: str) -> PreferencePair:
    """A pair record with string `chosen_critique` and `rejected_critique` -> PreferencePair (in `extra`). A critique
    may be empty: a critic that ends its turn at once wrote one, and the reward head still reads it."""
    pair = record_to_pair(record, default_id=default_id)
    for name in CRITIQUE_FIELDS:
        _text(pair.extra, name, allow_empty=True)
    return pair


def _read_rows(path: str | Path, convert: Callable[[Any, str], Row], skip_bad_rows: bool) -> list[Row]:
    """Converted rows of a file (any reader format). A bad row raises a DataError naming file, line and field, or
    with `skip_bad_rows` is left out and counted in a warning."""
    rows, unit = open_rows(path)
    converted: list[Row] = []
    skipped: list[DataError] = []
    for raw in rows:
        try:
            if raw.error is not None:
                raise raw.error
            converted.append(convert(raw.record, f"{Path(path).stem}-{raw.number}"))
        except RowError as error:
            located = DataError.from_row_error(str(path), raw.number, unit, error)
            if not skip_bad_rows:
                raise located from None
            skipped.append(located)
    if skipped:
        logger.warning("%s: skipped %d bad row(s); first: %s", path, len(skipped), skipped[0].as_skipped().describe())
    return converted


def read_critique_rows(path: str | Path, skip_bad_rows: bool = False) -> list[CritiqueRow]:
    """Pointwise critique rows (id, prompt, response, critique, score, scenario); an empty file is an error."""
    rows = _read_rows(path, critique_row_from_record, skip_bad_rows)
    if not rows:
        raise DataError(str(path), "has no critique rows", hint="Check that it is the critique file you meant.")
    return rows


def read_critiqued_pairs(path: str | Path, skip_bad_rows: bool = False) -> list[PreferencePair]:
    """Preference pairs with `chosen_critique` / `rejected_critique` (in `extra`); may be empty (a fresh output)."""
    return _read_rows(path, critiqued_pair_from_record, skip_bad_rows)


def critiques_of(pair: PreferencePair) -> tuple[str, str]:
    """(chosen critique, rejected critique) of a critiqued pair."""
    return pair.extra["chosen_critique"], pair.extra["rejected_critique"]


def with_critiques(pair: PreferencePair, chosen_critique: str, rejected_critique: str) -> PreferencePair:
    """A copy of `pair` that carries one critique per response."""
    extra = {**pair.extra, "chosen_critique": chosen_critique, "rejected_critique": rejected_critique}
    return dataclasses.replace(pair, extra=extra)


def append_critiqued_pairs(pairs: Iterable[PreferencePair], handle: TextIO) -> None:
    """Write critiqued pairs as JSON Lines to an open file, in one write, then flush (a resumable unit)."""
    handle.write("".join(json.dumps(pair_to_record(pair), ensure_ascii=False) + "\n" for pair in pairs))
    handle.flush()
