"""Small preference rows and helpers to write them as files, shared by the data tests."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from rewardkit.data.schema import PreferencePair

EXAMPLE_ROWS = [
    {
        "id": "r1",
        "prompt": "What is 2 + 2?",
        "chosen": "4",
        "rejected": "5",
        "subset": "math",
        "category": "reasoning",
    },
    {"prompt": "Say hi.", "chosen": "Hi!", "rejected": "No.", "p_chosen": 0.9},
    {"prompt": "Name a colour.", "chosen": "Blue.", "rejected": "Seven.", "source": "test", "annotator": "ann-3"},
]

# TRL explicit-prompt conversational rows: prompt messages, chosen/rejected one assistant message each.
CHAT_ROWS = [
    {
        "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hi."}],
        "chosen": [{"role": "assistant", "content": "Hi!"}],
        "rejected": [{"role": "assistant", "content": "No."}],
    },
    {
        "prompt": [{"role": "user", "content": "Name a colour."}],
        "chosen": [{"role": "assistant", "content": "Blue."}],
        "rejected": [{"role": "assistant", "content": "Seven."}],
    },
]


def assert_example_pairs(pairs: list[PreferencePair]) -> None:
    """The pairs read from EXAMPLE_ROWS, whatever the file format."""
    assert [pair.chosen for pair in pairs] == ["4", "Hi!", "Blue."]
    first, second, third = pairs
    assert (first.id, first.prompt, first.subset, first.category) == ("r1", "What is 2 + 2?", "math", "reasoning")
    assert (second.subset, second.category, second.p_chosen) == ("default", "train", pytest.approx(0.9))
    assert (third.source, third.extra, third.p_chosen) == ("test", {"annotator": "ann-3"}, None)


def assert_chat_pairs(pairs: list[PreferencePair]) -> None:
    """The pairs read from CHAT_ROWS: message-list prompts kept, responses unwrapped to strings."""
    assert [pair.prompt for pair in pairs] == [row["prompt"] for row in CHAT_ROWS]
    assert [(pair.chosen, pair.rejected) for pair in pairs] == [("Hi!", "No."), ("Blue.", "Seven.")]


def as_columns(rows: list[dict]) -> dict[str, list]:
    """Column lists over the union of the rows' keys (absent -> None); Arrow's from_pylist keeps only row 0's keys."""
    names = list(dict.fromkeys(name for row in rows for name in row))
    return {name: [row.get(name) for row in rows] for name in names}


def write_parquet(path: Path, rows: list[dict]) -> Path:
    pq.write_table(pa.table(as_columns(rows)), path)
    return path


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def write_lines(path: Path, lines: list[bytes]) -> Path:
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path
