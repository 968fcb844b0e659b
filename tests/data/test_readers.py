"""Every reader (JSONL, JSON, CSV, Parquet, HF datasets) returns the same pairs; reader choice and options."""

from __future__ import annotations

import csv
import json

import pytest

from rewardkit.data import DataError, read_pairs, write_pairs_jsonl, write_skip_log
from rewardkit.data.readers import ReadResult
from rewardkit.data.synthetic import generate_synthetic_pairs
from tests.data.sample_files import (
    CHAT_ROWS,
    EXAMPLE_ROWS,
    as_columns,
    assert_chat_pairs,
    assert_example_pairs,
    write_jsonl,
    write_lines,
    write_parquet,
)


def test_jsonl_keeps_optional_and_extra_fields(tmp_path):
    result = read_pairs(write_jsonl(tmp_path / "pairs.jsonl", EXAMPLE_ROWS))
    assert_example_pairs(result.pairs)
    assert result.skipped == []


def test_jsonl_reads_conversational_rows(tmp_path):
    assert_chat_pairs(read_pairs(write_jsonl(tmp_path / "chat.jsonl", CHAT_ROWS)).pairs)


def test_jsonl_generates_stable_ids_from_file_and_line_and_ignores_blank_lines(tmp_path):
    lines = [json.dumps(EXAMPLE_ROWS[1]).encode(), b"", b"   ", json.dumps(EXAMPLE_ROWS[2]).encode()]
    result = read_pairs(write_lines(tmp_path / "greetings.jsonl", lines))
    assert [pair.id for pair in result.pairs] == ["greetings-1", "greetings-4"]


@pytest.mark.parametrize("wrapper_key", [None, "data", "rows", "examples"])
def test_json_reads_a_list_or_a_list_under_a_known_key(tmp_path, wrapper_key):
    document = EXAMPLE_ROWS if wrapper_key is None else {"meta": {"v": 1}, wrapper_key: EXAMPLE_ROWS}
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    assert_example_pairs(read_pairs(path).pairs)


def test_json_without_a_row_list_says_where_rows_are_expected(tmp_path):
    path = tmp_path / "pairs.json"
    path.write_text(json.dumps({"items": EXAMPLE_ROWS}), encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs\.json.*'items'.*\['data', 'rows', 'examples'\]"):
        read_pairs(path)


def test_json_syntax_error_names_the_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('[\n{"prompt": "a", "chosen": "b", "rejected": "c"},\n{"prompt": \n]', encoding="utf-8")
    with pytest.raises(DataError, match=r"broken\.json:4 \(line 4\): is not valid JSON"):
        read_pairs(path)


def test_csv_rows_with_quoted_newlines_are_numbered_by_their_first_line(tmp_path):
    path = tmp_path / "pairs.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["prompt", "chosen", "rejected", "p_chosen"])
        writer.writeheader()
        writer.writerow(
            {"prompt": "Two lines,\nplease.", "chosen": "One.\nTwo.", "rejected": "One.", "p_chosen": "0.75"}
        )
        handle.write("\r\n")  # a blank line is no row
        writer.writerow({"prompt": "Hi", "chosen": "Hello", "rejected": "Bye", "p_chosen": ""})
    pairs = read_pairs(path).pairs
    assert [pair.id for pair in pairs] == ["pairs-2", "pairs-6"]  # row 1 spans lines 2-4, line 5 is blank
    assert pairs[0].prompt == "Two lines,\nplease." and pairs[0].chosen == "One.\nTwo."
    assert (pairs[0].p_chosen, pairs[1].p_chosen) == (0.75, None)


def test_csv_row_with_wrong_cell_count_is_reported_with_its_line(tmp_path):
    path = write_lines(tmp_path / "pairs.csv", [b"prompt,chosen,rejected", b"a,b,c", b"a,b,c,d"])
    with pytest.raises(DataError, match=r"pairs\.csv:3 \(line 3\): has 4 cells but the header names 3"):
        read_pairs(path)


@pytest.mark.parametrize("rows, check", [(EXAMPLE_ROWS, assert_example_pairs), (CHAT_ROWS, assert_chat_pairs)])
def test_parquet_reads_string_and_conversational_rows(tmp_path, rows, check):
    check(read_pairs(write_parquet(tmp_path / "pairs.parquet", rows)).pairs)


def test_hf_dataset_saved_to_disk(tmp_path):
    from datasets import Dataset

    Dataset.from_dict(as_columns(EXAMPLE_ROWS)).save_to_disk(str(tmp_path / "saved"))
    pairs = read_pairs(tmp_path / "saved").pairs
    assert_example_pairs(pairs)
    assert pairs[2].id == "saved-2"


def test_hf_dataset_dict_saved_to_disk_picks_the_split(tmp_path):
    from datasets import Dataset, DatasetDict

    splits = DatasetDict({"train": Dataset.from_dict(as_columns(EXAMPLE_ROWS)), "test": Dataset.from_list(CHAT_ROWS)})
    splits.save_to_disk(str(tmp_path / "saved"))
    assert_chat_pairs(read_pairs(tmp_path / "saved", split="test").pairs)
    with pytest.raises(DataError, match=r"no split 'validation' \(splits: \['test', 'train'\]\)"):
        read_pairs(tmp_path / "saved", split="validation")


def test_hf_data_file_directory_goes_through_load_dataset(tmp_path, hf_cache):
    parquet_dir, json_dir = tmp_path / "parquet-dataset", tmp_path / "json-dataset"
    parquet_dir.mkdir(), json_dir.mkdir()
    write_parquet(parquet_dir / "train.parquet", EXAMPLE_ROWS)
    write_parquet(parquet_dir / "test.parquet", EXAMPLE_ROWS[:1])
    write_jsonl(json_dir / "train.jsonl", CHAT_ROWS)
    assert_example_pairs(read_pairs(parquet_dir).pairs)
    assert [pair.id for pair in read_pairs(parquet_dir, split="test").pairs] == ["r1"]
    assert_chat_pairs(read_pairs(json_dir).pairs)
    assert hf_cache.is_dir()


def test_hf_data_file_directory_with_inconsistent_files_is_a_data_error(tmp_path, hf_cache):
    write_parquet(tmp_path / "train.parquet", EXAMPLE_ROWS)
    write_parquet(tmp_path / "test.parquet", CHAT_ROWS)
    with pytest.raises(DataError, match="could not be loaded as a Hugging Face dataset"):
        read_pairs(tmp_path)


def test_hub_name_is_loaded_with_load_dataset_and_the_split(monkeypatch):
    import datasets

    calls = []

    def fake_load_dataset(name, split):
        calls.append((name, split))
        return datasets.Dataset.from_dict(as_columns(EXAMPLE_ROWS))

    monkeypatch.setattr(datasets, "load_dataset", fake_load_dataset)
    result = read_pairs("someorg/some-prefs", split="test")
    assert calls == [("someorg/some-prefs", "test")]
    assert [pair.id for pair in result.pairs] == ["r1", "someorg-some-prefs-1", "someorg-some-prefs-2"]


def test_hub_load_failure_becomes_a_data_error(monkeypatch):
    import datasets

    def failing_load_dataset(name, split):
        raise FileNotFoundError(f"Dataset '{name}' doesn't exist on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", failing_load_dataset)
    with pytest.raises(DataError, match=r"someorg/missing: could not be loaded as a Hugging Face dataset"):
        read_pairs("someorg/missing")


def test_unknown_extension_is_a_clear_error(tmp_path):
    path = tmp_path / "pairs.txt"
    path.write_text("prompt\tchosen\trejected\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"pairs\.txt: has an unsupported extension '\.txt'.*\.jsonl"):
        read_pairs(path)


def test_missing_local_file_is_not_mistaken_for_a_hub_name(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        read_pairs(tmp_path / "absent.jsonl")


def test_limit_stops_after_that_many_pairs(tmp_path):
    result = read_pairs(write_jsonl(tmp_path / "pairs.jsonl", EXAMPLE_ROWS), limit=2)
    assert [pair.chosen for pair in result.pairs] == ["4", "Hi!"]


def test_invalid_options_are_rejected(tmp_path):
    path = write_jsonl(tmp_path / "pairs.jsonl", EXAMPLE_ROWS)
    with pytest.raises(ValueError, match="on_error"):
        read_pairs(path, on_error="ignore")
    with pytest.raises(ValueError, match="max_chars"):
        read_pairs(path, max_chars=0)


def test_written_pairs_read_back_identically(tmp_path):
    pairs = generate_synthetic_pairs(9, seed=3) + read_pairs(write_jsonl(tmp_path / "in.jsonl", EXAMPLE_ROWS)).pairs
    assert read_pairs(write_pairs_jsonl(pairs, tmp_path / "out" / "pairs.jsonl")).pairs == pairs


def test_skip_log_and_summary_report_each_skipped_row(tmp_path):
    lines = [json.dumps(EXAMPLE_ROWS[0]).encode(), b"{not json", json.dumps({"prompt": "p", "chosen": "c"}).encode()]
    result = read_pairs(write_lines(tmp_path / "pairs.jsonl", lines), on_error="skip")
    assert "read 1 pair(s), skipped 2 row(s) (by field: (whole row) 1, rejected 1)" in result.summary()
    log_lines = write_skip_log(result, tmp_path / "skipped.jsonl").read_text(encoding="utf-8").splitlines()
    logged = [json.loads(line) for line in log_lines]
    assert [(row["line"], row["field"]) for row in logged] == [(2, None), (3, "rejected")]
    assert logged[0]["path"].endswith("pairs.jsonl") and "not valid JSON" in logged[0]["reason"]


def test_summary_without_skips():
    assert ReadResult(source="x.jsonl").summary() == "x.jsonl: read 0 pair(s), skipped none"
