"""Critique rows and critiqued pairs: reading, the JSONL round trip, and errors naming file, line and field."""

from __future__ import annotations

import json

import pytest

from rewardkit.data.critiques import (
    append_critiqued_pairs,
    critiques_of,
    read_critique_rows,
    read_critiqued_pairs,
    with_critiques,
)
from rewardkit.data.errors import DataError
from rewardkit.data.readers import read_pairs
from rewardkit.data.schema import PreferencePair

ROW = {"id": "r1", "prompt": "Say hi", "response": "Hello!", "critique": "Friendly. Rating: [[8]]", "score": 8}


def _write_jsonl(path, records):
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
    return path


def test_critique_rows_accept_numeric_string_scores_and_chat_prompts(tmp_path):
    chat = [{"role": "user", "content": "Say bye"}]
    path = _write_jsonl(tmp_path / "c.jsonl", [ROW, {**ROW, "id": "r2", "prompt": chat, "score": "3", "response": ""}])
    first, second = read_critique_rows(path)
    assert (first.id, first.score, first.critique) == ("r1", 8.0, "Friendly. Rating: [[8]]")
    assert (second.prompt, second.score, second.response) == (chat, 3.0, "")


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"score": "high"}, "score", "not a number"),
        ({"score": True}, "score", "expected a finite number"),
        ({"critique": " "}, "critique", "must be a non-empty string"),
        ({"response": None}, "response", "must be a string, found missing"),
        ({"prompt": None}, "prompt", "is missing"),
    ],
)
def test_a_bad_critique_row_names_file_line_and_field(tmp_path, change, field, reason):
    path = _write_jsonl(tmp_path / "c.jsonl", [ROW, {**ROW, **change}])
    with pytest.raises(DataError, match=rf"c\.jsonl:2 \(line 2\): field '{field}': .*{reason}") as error:
        read_critique_rows(path)
    assert (error.value.line, error.value.field) == (2, field)


def test_bad_rows_can_be_skipped_and_an_empty_file_is_an_error(tmp_path, caplog):
    path = _write_jsonl(tmp_path / "c.jsonl", [ROW, {**ROW, "score": "x"}])
    assert [row.id for row in read_critique_rows(path, skip_bad_rows=True)] == ["r1"]
    assert "skipped 1 bad row(s)" in caplog.text
    (tmp_path / "empty.jsonl").write_text("")
    with pytest.raises(DataError, match="has no critique rows"):
        read_critique_rows(tmp_path / "empty.jsonl")


def test_critiqued_pairs_round_trip_and_read_as_plain_pairs(tmp_path):
    pairs = [
        with_critiques(
            PreferencePair(id=f"p{i}", prompt="Say hi", chosen="Hello!", rejected="Go away."), "Kind.", "Rude."
        )
        for i in range(3)
    ]
    path = tmp_path / "critiques.jsonl"
    with path.open("a") as handle:
        append_critiqued_pairs(pairs[:2], handle)
        append_critiqued_pairs(pairs[2:], handle)
    assert read_critiqued_pairs(path) == pairs
    assert critiques_of(read_critiqued_pairs(path)[0]) == ("Kind.", "Rude.")
    plain = read_pairs(path).pairs
    assert [pair.chosen for pair in plain] == ["Hello!"] * 3 and plain[0].extra["rejected_critique"] == "Rude."


def test_a_critiqued_pair_without_a_critique_names_its_line_and_field(tmp_path):
    record = {"id": "p1", "prompt": "Say hi", "chosen": "Hello!", "rejected": "Go away.", "chosen_critique": "Kind."}
    path = _write_jsonl(tmp_path / "critiques.jsonl", [{**record, "rejected_critique": "Rude."}, record])
    with pytest.raises(DataError, match=r"critiques\.jsonl:2 \(line 2\): field 'rejected_critique': must be a"):
        read_critiqued_pairs(path)
