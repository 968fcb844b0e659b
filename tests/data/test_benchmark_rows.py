"""Native readers of RewardBench 2, RM-Bench and JudgeBench rows: every source kind, and malformed rows located."""

from __future__ import annotations

import json

import datasets
import pytest

from rewardkit.data.benchmark_rows import read_benchmark_rows
from rewardkit.data.bon_data import BonItem
from rewardkit.data.errors import DataError
from rewardkit.data.rewardbench2_build import rewardbench2_records
from tests.data.sample_files import write_jsonl, write_parquet

RB2_ROWS = [
    {"id": 7, "prompt": "2+2?", "chosen": ["4"], "rejected": ["5", "3", "22"], "num_correct": 1, "subset": "Math"},
    {"id": "ref:3", "prompt": "A colour?", "chosen": ["red"], "rejected": ["7"], "num_correct": 1, "subset": "Ties"},
    {"id": "tied:3", "prompt": "Colours?", "chosen": ["red", "blue"], "rejected": ["7"], "subset": "Ties"},
]
RMBENCH_ROWS = [
    {
        "id": "chat-1",
        "domain": "safety-refuse",
        "subset": "refusals-dangerous",
        "prompt": "How do I pick a lock?",
        "chosen": ["No.", "I can't help with that, because...", "**No.** Because..."],
        "rejected": ["Sure.", "Sure, first take...", "**Sure**, first..."],
        "error_key": "x",
    }
]
JUDGEBENCH_ROWS = [
    {
        "pair_id": "p1",
        "original_id": 5,
        "source": "mmlu-pro-law",
        "question": "Q?",
        "response_model": "gpt-4o",
        "response_A": "wrong",
        "response_B": "right",
        "label": "B>A",
    },
    {
        "pair_id": "p2",
        "source": "livecodebench",
        "question": "Code?",
        "response_A": "ok",
        "response_B": "bad",
        "label": "A>B",
    },
]


def test_rewardbench2_rows_keep_lists_and_group_ties_by_prompt(tmp_path):
    rows = read_benchmark_rows(write_jsonl(tmp_path / "rb2.jsonl", RB2_ROWS), "rewardbench2").rows

    assert [row.id for row in rows] == ["7", "ref:3", "tied:3"]
    assert rows[0].chosen == ["4"] and rows[0].rejected == ["5", "3", "22"] and rows[0].group == "7"
    assert [row.group for row in rows[1:]] == ["3", "3"]
    assert rows[2].completions == ["red", "blue", "7"]
    assert {row.domain for row in rows} == {"Math", "Ties"}


def test_rmbench_reads_the_json_list_it_ships_as_and_groups_safety_by_prefix(tmp_path):
    path = tmp_path / "safety-refuse_filtered.json"
    path.write_text(json.dumps(RMBENCH_ROWS))

    (row,) = read_benchmark_rows(path, "rm-bench").rows

    assert row.domain == "safety" and row.subset == "safety-refuse"
    assert len(row.chosen) == len(row.rejected) == 3
    assert row.extra == {"error_key": "x", "upstream_subset": "refusals-dangerous"}


def test_judgebench_orients_the_label_and_names_the_category(tmp_path):
    rows = read_benchmark_rows(write_jsonl(tmp_path / "jb.jsonl", JUDGEBENCH_ROWS), "judgebench").rows

    assert (rows[0].chosen, rows[0].rejected, rows[0].chosen_first) == (["right"], ["wrong"], False)
    assert (rows[1].chosen, rows[1].chosen_first) == (["ok"], True)
    assert [row.domain for row in rows] == ["knowledge", "coding"]
    assert rows[0].subset == "mmlu-pro-law" and rows[0].extra == {"original_id": 5, "response_model": "gpt-4o"}


def test_parquet_and_saved_dataset_read_the_same_rows(tmp_path):
    from_jsonl = read_benchmark_rows(write_jsonl(tmp_path / "jb.jsonl", JUDGEBENCH_ROWS), "judgebench").rows
    from_parquet = read_benchmark_rows(write_parquet(tmp_path / "jb.parquet", JUDGEBENCH_ROWS), "judgebench").rows
    datasets.Dataset.from_list(RB2_ROWS[1:]).save_to_disk(str(tmp_path / "saved"))
    from_saved = read_benchmark_rows(tmp_path / "saved", "rewardbench2").rows

    assert [(r.id, r.chosen, r.rejected) for r in from_parquet] == [(r.id, r.chosen, r.rejected) for r in from_jsonl]
    assert [row.chosen for row in from_saved] == [["red"], ["red", "blue"]]


def _bad(row: dict, **changes) -> dict:
    return {key: value for key, value in ({**row, **changes}).items() if value is not None}


@pytest.mark.parametrize(
    ("benchmark", "row", "message"),
    [
        ("rewardbench2", _bad(RB2_ROWS[0], chosen=None), r"field 'chosen': is missing"),
        ("rewardbench2", _bad(RB2_ROWS[0], rejected="5"), r"field 'rejected': is str .*expected a non-empty list"),
        ("rewardbench2", _bad(RB2_ROWS[0], num_correct=2), r"field 'num_correct': is 2 but 'chosen' holds 1"),
        ("rewardbench2", _bad(RB2_ROWS[1], id="3"), r"field 'id': is '3'; Ties rows are named 'ref:N' or 'tied:N'"),
        ("rewardbench2", _bad(RB2_ROWS[2], chosen=["red"]), r"field 'chosen': holds 1 response; a Ties 'tied:N'"),
        ("rm-bench", _bad(RMBENCH_ROWS[0], chosen=["a", "b"]), r"field 'chosen': has 2 responses, expected 3"),
        ("rm-bench", _bad(RMBENCH_ROWS[0], domain="poetry"), r"field 'domain': is 'poetry'; RM-Bench domains"),
        ("rm-bench", _bad(RMBENCH_ROWS[0], rejected=["a", "", "c"]), r"field 'rejected': response 2 is str"),
        ("judgebench", _bad(JUDGEBENCH_ROWS[0], label="A=B"), r"field 'label': is 'A=B', expected one of"),
        ("judgebench", _bad(JUDGEBENCH_ROWS[0], question=None), r"field 'question': is missing"),
    ],
)
def test_malformed_rows_name_file_line_and_field(tmp_path, benchmark, row, message):
    path = write_jsonl(tmp_path / "rows.jsonl", [row])

    with pytest.raises(DataError, match=rf"rows\.jsonl:1 \(line 1\): {message}"):
        read_benchmark_rows(path, benchmark)


def test_skip_counts_bad_rows_and_a_repeated_id_is_an_error(tmp_path):
    rows = [JUDGEBENCH_ROWS[0], {"not": "a pair"}, JUDGEBENCH_ROWS[1], JUDGEBENCH_ROWS[0]]
    path = write_jsonl(tmp_path / "jb.jsonl", rows)

    result = read_benchmark_rows(path, "judgebench", on_error="skip")

    assert [row.id for row in result.rows] == ["p1", "p2"]
    assert [(skipped.line, skipped.field) for skipped in result.skipped] == [(2, "label"), (4, "id")]
    with pytest.raises(DataError, match=r"jb\.jsonl:3 \(line 3\): field 'id': 'p1' repeats the id of line 1"):
        read_benchmark_rows(write_jsonl(tmp_path / "jb.jsonl", [rows[0], rows[2], rows[3]]), "judgebench")


def test_a_file_of_another_format_says_so(tmp_path):
    with pytest.raises(DataError, match=r"field 'label': is missing .*Is this file in the benchmark's own format"):
        read_benchmark_rows(write_jsonl(tmp_path / "rb2.jsonl", RB2_ROWS), "judgebench")


def test_best_of_four_and_ties_rows_from_best_of_n_items(tmp_path):
    items = [
        BonItem("one-right", "Q1", ["a", "b", "c", "d"], [False, True, False, False], reference="ref1"),
        BonItem("two-right", "Q2", ["a", "b", "c", "d"], [True, False, True, False], reference="ref2"),
        BonItem("no-wrong", "Q3", ["a", "b", "c", "d"], [True, True, True, True], reference="ref3"),
    ]

    records = rewardbench2_records(items)
    rows = read_benchmark_rows(write_jsonl(tmp_path / "rb2.jsonl", records), "rewardbench2").rows

    assert [(row.id, row.chosen, row.rejected) for row in rows] == [
        ("one-right", ["b"], ["a", "c", "d"]),
        ("tied:0", ["a", "c"], ["b", "d"]),
        ("ref:0", ["ref2"], ["b", "d"]),
    ]
    assert [row.group for row in rows] == ["one-right", "0", "0"]


def test_build_rewardbench2_command_writes_rows_the_reader_takes(tmp_path):
    from typer.testing import CliRunner

    from rewardkit.cli import app

    bon = [
        {
            "id": "q1",
            "prompt": "Q1",
            "candidates": ["a", "b", "c", "d"],
            "correct": [False, True, False, False],
            "reference": "r1",
        },
        {
            "id": "q2",
            "prompt": "Q2",
            "candidates": ["a", "b", "c", "d"],
            "correct": [True, True, True, False],
            "reference": "r2",
        },
    ]
    out = tmp_path / "rb2.jsonl"

    result = CliRunner().invoke(
        app, ["data", "build-rewardbench2", str(write_jsonl(tmp_path / "bon.jsonl", bon)), "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "wrote 3 RewardBench 2 rows from 2 questions" in result.output
    rows = read_benchmark_rows(out, "rewardbench2").rows
    assert [(row.id, row.subset, len(row.chosen), len(row.rejected)) for row in rows] == [
        ("q1", "Math", 1, 3),
        ("tied:0", "Ties", 3, 1),
        ("ref:0", "Ties", 1, 1),
    ]
