"""Each kind of bad row: raise mode names file, line/row and field; skip mode keeps the rest and says why."""

from __future__ import annotations

import json
import logging

import pytest

from rewardkit.data import DataError, read_pairs
from rewardkit.data.formats import CHAT_ROLES, MAX_NESTING_DEPTH
from tests.data.sample_files import as_columns, write_jsonl, write_lines, write_parquet

GOOD = {"prompt": "What is 3 + 4?", "chosen": "7", "rejected": "8"}
MEGABYTE = 1_000_000
DEEP = 100_000


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# (name, bad line as bytes, field named in the error or None for the whole row, text the reason must contain)
BAD_LINES = [
    ("malformed_json", b'{"prompt": "p", "chosen": "a", "rejected": ', None, "not valid JSON"),
    ("missing_field", json.dumps({"prompt": "p", "chosen": "a"}).encode(), "rejected", "is missing"),
    ("wrong_type", json.dumps({"prompt": "p", "chosen": 7, "rejected": "b"}).encode(), "chosen", "is int (7)"),
    ("empty_response", json.dumps({"prompt": "p", "chosen": "a", "rejected": " \n\t"}).encode(), "rejected", "empty"),
    ("not_utf8", b'{"prompt": "caf\xe9", "chosen": "a", "rejected": "b"}', None, "not valid UTF-8 (byte 0xe9"),
    ("identical", json.dumps({"prompt": "p", "chosen": "same", "rejected": "same"}).encode(), "rejected", "identical"),
    ("not_an_object", b'["p", "a", "b"]', None, "is a list, expected an object"),
    (
        "nested_100k_deep",
        b'{"prompt": "p", "chosen": "a", "rejected": "b", "meta": ' + _nested(DEEP) + b"}",
        None,
        "nests deeper than the JSON parser can follow",
    ),
    (
        "nested_past_the_guard",
        b'{"prompt": "p", "chosen": "a", "rejected": "b", "meta": ' + _nested(MAX_NESTING_DEPTH + 1) + b"}",
        "meta",
        f"nests deeper than {MAX_NESTING_DEPTH} levels",
    ),
    (
        "unknown_role",
        json.dumps({**GOOD, "prompt": [{"role": "human", "content": "Hi"}]}).encode(),
        "prompt",
        "message 1 has role 'human', expected one of system, user, assistant, tool",
    ),
    (
        "unknown_role_in_a_response",
        json.dumps({**GOOD, "chosen": [{"role": "gpt", "content": "7"}]}).encode(),
        "chosen",
        "message 1 has role 'gpt'",
    ),
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
    assert len(result.pairs) + len(result.skipped) == 3
    [skipped] = result.skipped
    assert (skipped.path, skipped.line, skipped.field) == (str(path), 2, field) and reason in skipped.reason
    assert "skipped 1 row(s)" in caplog.text


def test_a_megabyte_response_is_read_intact(tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [GOOD, {**GOOD, "chosen": "x" * MEGABYTE}])
    result = read_pairs(path)
    assert len(result.pairs[1].chosen) == MEGABYTE and len(result.pairs) + len(result.skipped) == 2


def test_row_above_the_size_guard_is_a_counted_skippable_row_error(tmp_path):
    path = write_jsonl(tmp_path / "long.jsonl", [GOOD, {**GOOD, "chosen": "x" * 200}, GOOD])
    with pytest.raises(DataError, match=r"long\.jsonl:2 .*above max_chars=100.*\(CLI: --max-chars 200\)"):
        read_pairs(path, max_chars=100)
    result = read_pairs(path, max_chars=100, on_error="skip")
    assert len(result.pairs) == 2 and [row.line for row in result.skipped] == [2]
    assert len(result.pairs) + len(result.skipped) == 3


def test_every_chat_role_is_accepted(tmp_path):
    prompt = [{"role": role, "content": f"{role} text"} for role in CHAT_ROLES if role != "assistant"]
    prompt.insert(1, {"role": "assistant", "content": "earlier turn"})
    result = read_pairs(write_jsonl(tmp_path / "roles.jsonl", [{**GOOD, "prompt": prompt}]))
    assert [message["role"] for message in result.pairs[0].prompt] == ["system", "assistant", "user", "tool"]


def test_json_document_nested_too_deep_is_named(tmp_path):
    path = tmp_path / "deep.json"
    path.write_bytes(b'[{"prompt": "p", "chosen": "a", "rejected": "b", "meta": ' + _nested(DEEP) + b"}]")
    with pytest.raises(DataError, match=r"deep\.json: nests deeper than the JSON parser can follow"):
        read_pairs(path)


def test_repeated_ids_are_kept_and_reported_with_a_count(tmp_path, caplog):
    rows = [{**GOOD, "id": "a"}, {**GOOD, "id": "b"}, {**GOOD, "id": "a"}, {**GOOD, "id": "a"}, {**GOOD, "id": "c"}]
    with caplog.at_level(logging.WARNING, logger="rewardkit.data.readers"):
        result = read_pairs(write_jsonl(tmp_path / "repeats.jsonl", rows))
    assert result.repeated_ids == {"a": 3} and len(result.pairs) + len(result.skipped) == 5
    assert "1 id(s) shared by 3 pairs (e.g. 'a' x3)" in caplog.text


def test_csv_unclosed_quote_says_it_ran_to_the_end_of_the_file(tmp_path):
    lines = [b"prompt,chosen,rejected", b"p,a,b", b'"q,c,d', b"r,e,f", b"s,g,h"]
    path = write_lines(tmp_path / "prefs.csv", lines)
    with pytest.raises(DataError, match=r"prefs\.csv:3 \(line 3\): opens a quote that is never closed: the row ran"):
        read_pairs(path)
    result = read_pairs(path, on_error="skip")
    [skipped] = result.skipped
    assert "from line 3 to the end of the file (line 5)" in skipped.reason
    assert [pair.prompt for pair in result.pairs] == ["p"] and len(result.pairs) + len(result.skipped) == 2


def test_csv_quoted_cell_closed_on_the_last_line_is_a_row(tmp_path):
    lines = [b"prompt,chosen,rejected", b"p,a,b", b'q,c,"two', b'lines"']
    result = read_pairs(write_lines(tmp_path / "prefs.csv", lines))
    assert [pair.rejected for pair in result.pairs] == ["b", "two\nlines"] and not result.skipped


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


def test_every_reader_built_on_open_rows_gets_the_nesting_guard(tmp_path):
    from rewardkit.data.readers import open_rows

    too_deep = {**GOOD, "meta": json.loads(_nested(MAX_NESTING_DEPTH + 1))}
    path = write_jsonl(tmp_path / "rows.jsonl", [GOOD, too_deep, GOOD])
    rows, unit = open_rows(path)
    errors = [(raw.number, raw.error.field) for raw in rows if raw.error is not None]
    assert errors == [(2, "meta")] and unit == "line"


def test_best_of_n_file_nested_too_deep_names_the_line(tmp_path):
    from rewardkit.data.bon_data import read_bon_jsonl

    path = write_lines(tmp_path / "bon.jsonl", [b'{"id": "q1", "prompt": ' + _nested(DEEP) + b"}"])
    with pytest.raises(DataError, match=r"bon\.jsonl:1 \(line 1\): nests deeper than the JSON parser can follow"):
        read_bon_jsonl(path)
