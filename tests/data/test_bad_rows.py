"""Each kind of bad row: raise mode names file, line/row and field; skip mode keeps the rest and says why."""

from __future__ import annotations

import json
import logging

import pytest

from rewardkit.data import DataError, read_pairs
from tests.data.sample_files import as_columns, write_jsonl, write_lines, write_parquet

GOOD = {"prompt": "What is 3 + 4?", "chosen": "7", "rejected": "8"}
MEGABYTE = 1_000_000

# (name, bad line as bytes, field named in the error or None for the whole row, text the reason must contain)
BAD_LINES = [
    ("malformed_json", b'{"prompt": "p", "chosen": "a", "rejected": ', None, "not valid JSON"),
    ("missing_field", json.dumps({"prompt": "p", "chosen": "a"}).encode(), "rejected", "is missing"),
    ("wrong_type", json.dumps({"prompt": "p", "chosen": 7, "rejected": "b"}).encode(), "chosen", "is int (7)"),
    ("empty_response", json.dumps({"prompt": "p", "chosen": "a", "rejected": " \n\t"}).encode(), "rejected", "empty"),
    ("not_utf8", b'{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}', None, "not valid UTF-8 (byte 0xe9"),
    ("identical", json.dumps({"prompt": "p", "chosen": "same", "rejected": "same"}).encode(), "rejected", "identical"),
    ("not_an_object", b'["p", "a", "b"]', None, "is a list, expected an object"),
    ("megabyte_response", json.dumps({**GOOD, "chosen": "x" * MEGABYTE}).encode(), "chosen", "1,000,000 characters"),
]
CASE_IDS = [case[0] for case in BAD_LINES]


def write_with_bad_line_2(tmp_path, bad_line: bytes):
    good = json.dumps(GOOD).encode()
    return write_lines(tmp_path / "prefs.jsonl", [good, bad_line, good])


@pytest.mark.parametrize("name, bad_line, field, reason", BAD_LINES, ids=CASE_IDS)
def test_raise_mode_names_file_line_and_field(tmp_path, name, bad_line, field, reason):
    path = write_with_bad_line_2(tmp_path, bad_line)
    with pytest.raises(DataError) as caught:
        read_pairs(path)
    message = str(caught.value)
    assert f"{path}:2 (line 2)" in message and reason in message and "on_error='skip'" in message
    assert (caught.value.line, caught.value.field) == (2, field)
    if field is not None:
        assert f"field '{field}'" in message


@pytest.mark.parametrize("name, bad_line, field, reason", BAD_LINES, ids=CASE_IDS)
def test_skip_mode_keeps_the_other_rows_and_records_the_reason(tmp_path, caplog, name, bad_line, field, reason):
    path = write_with_bad_line_2(tmp_path, bad_line)
    with caplog.at_level(logging.WARNING, logger="rewardkit.data.readers"):
        result = read_pairs(path, on_error="skip")
    assert [pair.id for pair in result.pairs] == ["prefs-1", "prefs-3"]
    [skipped] = result.skipped
    assert (skipped.path, skipped.line, skipped.field) == (str(path), 2, field) and reason in skipped.reason
    assert "skipped 1 row(s)" in caplog.text


def test_oversized_response_error_says_how_to_raise_the_limit_and_a_larger_limit_reads_it_intact(tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [{**GOOD, "chosen": "x" * MEGABYTE}])
    with pytest.raises(DataError, match=r"above max_chars=200,000.*max_chars=1000000 \(CLI: --max-chars 1000000\)"):
        read_pairs(path)
    assert len(read_pairs(path, max_chars=2 * MEGABYTE).pairs[0].chosen) == MEGABYTE


def test_oversized_conversational_prompt_counts_all_message_contents(tmp_path):
    prompt = [{"role": "user", "content": "a" * 60}, {"role": "assistant", "content": "b" * 60}]
    path = write_jsonl(tmp_path / "chat.jsonl", [{**GOOD, "prompt": prompt + [{"role": "user", "content": "c"}]}])
    with pytest.raises(DataError, match="field 'prompt': has 121 characters, above max_chars=100"):
        read_pairs(path, max_chars=100)


def test_csv_undecodable_line_is_named_and_skippable(tmp_path):
    lines = [b"prompt,chosen,rejected", b"p,a,b", b"caf\xe9,a,b", b"q,c,d"]
    path = write_lines(tmp_path / "prefs.csv", lines)
    with pytest.raises(DataError, match=r"prefs\.csv:3 \(line 3\): is not valid UTF-8"):
        read_pairs(path)
    result = read_pairs(path, on_error="skip")
    assert [pair.prompt for pair in result.pairs] == ["p", "q"] and result.skipped[0].line == 3


def test_csv_empty_cell_is_an_empty_response(tmp_path):
    path = write_lines(tmp_path / "prefs.csv", [b"prompt,chosen,rejected", b"p,a,b", b"p,,b"])
    with pytest.raises(DataError, match=r"prefs\.csv:3 \(line 3\): field 'chosen': is empty"):
        read_pairs(path)


def test_json_rows_are_named_by_row_index(tmp_path):
    path = tmp_path / "prefs.json"
    path.write_text(json.dumps([GOOD, {**GOOD, "chosen": 3.5}]), encoding="utf-8")
    with pytest.raises(DataError, match=r"prefs\.json \(row index 1\): field 'chosen': is float \(3\.5\)"):
        read_pairs(path)
    [skipped] = read_pairs(path, on_error="skip").skipped
    assert (skipped.line, skipped.unit) == (1, "row")


def test_parquet_null_response_is_missing_with_its_row_index(tmp_path):
    path = write_parquet(tmp_path / "prefs.parquet", [GOOD, GOOD, {**GOOD, "rejected": None}])
    with pytest.raises(DataError, match=r"prefs\.parquet \(row index 2\): field 'rejected': is missing"):
        read_pairs(path)


def test_hf_dataset_rows_are_named_by_row_index(tmp_path):
    from datasets import Dataset

    Dataset.from_dict(as_columns([GOOD, {**GOOD, "chosen": "  "}])).save_to_disk(str(tmp_path / "saved"))
    with pytest.raises(DataError, match=r"saved \(row index 1\): field 'chosen': is empty"):
        read_pairs(tmp_path / "saved")


def test_skip_mode_refuses_to_return_nothing_when_every_row_is_bad(tmp_path):
    path = write_jsonl(tmp_path / "wrong_columns.jsonl", [{"q": "p", "a": "x", "b": "y"}] * 3)
    with pytest.raises(DataError, match=r"every row was skipped .*skipped 3 row\(s\) \(by field: chosen 3\)"):
        read_pairs(path, on_error="skip")


def test_empty_file_is_an_error(tmp_path):
    with pytest.raises(DataError, match=r"empty\.jsonl: has no rows"):
        read_pairs(write_lines(tmp_path / "empty.jsonl", [b""]))
