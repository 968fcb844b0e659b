"""RewardBench 2 rows built from Best-of-N files with gold correctness (`bon/*.jsonl`: candidates + correct flags).

RewardBench 2's best-of-4 subsets put one correct completion against three incorrect ones (Malik et al. 2025,
arXiv 2506.01937, section 3). From each question with at least one correct and three incorrect candidates, this
takes the first correct candidate and the first three incorrect ones (file order), as a `Math` row. Questions with
several correct candidates and at least one incorrect one also give a Ties-shaped pair of rows: `tied:N` holds all
the correct candidates against all the incorrect ones, `ref:N` the question's reference solution against the same
incorrect ones (RewardBench 2's Ties pairs a prompt with many correct answers with one that has a single answer;
here the two share the question, which keeps the formula's ref/tied comparison meaningful).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rewardkit.data.bon_data import BonItem

BEST_OF = 4
MATH_SUBSET = "Math"
TIES_SUBSET_NAME = "Ties"


def best_of_four_record(item: BonItem) -> dict[str, Any] | None:
    """One correct vs three incorrect candidates of `item`, or None when it lacks them."""
    correct = [text for text, ok in zip(item.candidates, item.correct, strict=True) if ok]
    incorrect = [text for text, ok in zip(item.candidates, item.correct, strict=True) if not ok]
    if not correct or len(incorrect) < BEST_OF - 1:
        return None
    return _record(item.id, item, MATH_SUBSET, [correct[0]], incorrect[: BEST_OF - 1])


def ties_records(item: BonItem, prompt_number: int) -> list[dict[str, Any]]:
    """The `tied:N` and `ref:N` rows of `item`, or none when it lacks 2+ correct, 1+ incorrect or a reference."""
    correct = [text for text, ok in zip(item.candidates, item.correct, strict=True) if ok]
    incorrect = [text for text, ok in zip(item.candidates, item.correct, strict=True) if not ok]
    if len(correct) < 2 or not incorrect or not item.reference:
        return []
    return [
        _record(f"tied:{prompt_number}", item, TIES_SUBSET_NAME, correct, incorrect),
        _record(f"ref:{prompt_number}", item, TIES_SUBSET_NAME, [item.reference], incorrect),
    ]


def rewardbench2_records(items: Sequence[BonItem], ties: bool = True) -> list[dict[str, Any]]:
    """Best-of-4 `Math` rows for every item that has them, then (with `ties`) the Ties rows, numbered from 0."""
    records = [record for item in items if (record := best_of_four_record(item)) is not None]
    if not ties:
        return records
    prompt_number = 0
    for item in items:
        pair = ties_records(item, prompt_number)
        records.extend(pair)
        prompt_number += bool(pair)
    return records


def write_records(records: Iterable[dict[str, Any]], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def _record(row_id: str, item: BonItem, subset: str, chosen: list[str], rejected: list[str]) -> dict[str, Any]:
    return {
        "id": row_id,
        "prompt": item.prompt,
        "chosen": chosen,
        "rejected": rejected,
        "num_correct": len(chosen),
        "subset": subset,
        "source_id": item.id,
    }
