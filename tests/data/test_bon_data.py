"""Best-of-N and math-question readers: round trip, schema contract of the shared files, errors naming file:line."""

from __future__ import annotations

import json

import pytest

from rewardkit.data.bon_data import BonItem, read_bon_jsonl, read_math_questions, write_bon_jsonl
from rewardkit.data.errors import DataError

GOOD_ROW = {"id": "q1", "prompt": "1+1?", "candidates": ["2", "3"], "correct": [True, False], "reference": "2"}


def write_rows(path, rows):
    path.write_text("".join((row if isinstance(row, str) else json.dumps(row)) + "\n" for row in rows))
    return path


def test_round_trip_keeps_optional_and_extra_fields(tmp_path):
    item = BonItem(
        id="a",
        prompt=[{"role": "user", "content": "hi"}],
        candidates=["x", "y"],
        correct=[False, True],
        reference=None,
        answer="y",
        reference_rm_scores=[0.5, 1.5],
        extra={"generators": ["m1", "m2"]},
    )
    path = write_bon_jsonl([item], tmp_path / "out" / "bon.jsonl")
    assert read_bon_jsonl(path) == [item]


def test_limit_and_blank_lines(tmp_path):
    rows = [GOOD_ROW, "", {**GOOD_ROW, "id": "q2"}, {**GOOD_ROW, "id": "q3"}]
    items = read_bon_jsonl(write_rows(tmp_path / "b.jsonl", rows), limit=2)
    assert [item.id for item in items] == ["q1", "q2"]


@pytest.mark.parametrize(
    ("change", "line_field", "reason"),
    [
        ({"correct": [True]}, "field 'correct'", "1 entries for 2 candidates"),
        ({"correct": [1, 0]}, "field 'correct'", "element 0 is int, expected bool"),
        ({"candidates": ["a", 3]}, "field 'candidates'", "element 1 is int, expected str"),
        ({"candidates": "a"}, "field 'candidates'", "expected list, got str"),
        ({"candidates": [], "correct": []}, "field 'candidates'", "at least one candidate"),
        ({"prompt": 5}, "field 'prompt'", "expected str/list"),
        ({"prompt": [{"text": "x"}]}, "field 'prompt'", "{role, content}"),
        ({"reference_rm_scores": [1.0]}, "field 'reference_rm_scores'", "1 entries for 2 candidates"),
        ({"reference_rm_scores": [1.0, True]}, "field 'reference_rm_scores'", "element 1 is bool"),
        ({"answer": 7}, "field 'answer'", "expected str, got int"),
        ({"id": None}, "field 'id'", "expected str/int"),
    ],
)
def test_bad_rows_name_file_line_and_field(tmp_path, change, line_field, reason):
    path = write_rows(tmp_path / "bad.jsonl", [GOOD_ROW, {**GOOD_ROW, "id": "q2", **change}])
    with pytest.raises(DataError) as error:
        read_bon_jsonl(path)
    assert f"{path}:2" in str(error.value)
    assert line_field in str(error.value)
    assert reason in str(error.value)


def test_missing_field_duplicate_id_and_bad_json(tmp_path):
    missing = {key: value for key, value in GOOD_ROW.items() if key != "correct"}
    with pytest.raises(DataError, match=r":1 .*field 'correct': missing"):
        read_bon_jsonl(write_rows(tmp_path / "m.jsonl", [missing]))
    with pytest.raises(DataError, match=r":2 .*duplicate id 'q1' \(first on line 1\)"):
        read_bon_jsonl(write_rows(tmp_path / "d.jsonl", [GOOD_ROW, GOOD_ROW]))
    with pytest.raises(DataError, match=r":1 .*invalid JSON"):
        read_bon_jsonl(write_rows(tmp_path / "j.jsonl", ["{not json"]))
    with pytest.raises(DataError, match="file not found"):
        read_bon_jsonl(tmp_path / "absent.jsonl")


def test_math_questions_take_answer_or_extract_it_from_the_solution(tmp_path):
    rows = [
        {"id": "g1", "question": "Q1", "solution": "2+2=4\n#### 4", "answer": "4"},
        {"id": 2, "prompt": "Q2", "solution": "so\n#### 1,200"},
        {"id": "g3", "question": "Q3"},
    ]
    path = write_rows(tmp_path / "q.jsonl", rows)
    questions = read_math_questions(path, limit=2)
    assert [(q.id, q.question, q.answer) for q in questions] == [("g1", "Q1", "4"), ("2", "Q2", "1,200")]
    with pytest.raises(DataError, match=r":3 .*field 'answer'"):
        read_math_questions(path)


def test_best_of_n_rows_serve_as_questions_through_their_reference(tmp_path):
    row = {**GOOD_ROW, "reference": "One plus one.\n#### 2"}
    (question,) = read_math_questions(write_rows(tmp_path / "bon.jsonl", [row]))
    assert (question.question, question.answer, question.solution) == ("1+1?", "2", "One plus one.\n#### 2")


@pytest.mark.integration
def test_shared_bon_files_contract(shared_data):
    qwen = read_bon_jsonl(shared_data / "bon" / "qwen25math_math100_bon8.jsonl")
    gsm8k = read_bon_jsonl(shared_data / "bon" / "gsm8k_test_candidates_dev.jsonl")
    assert len(qwen) == 100 and {len(item.candidates) for item in qwen} == {8}
    assert all(item.answer and len(item.reference_rm_scores) == 8 for item in qwen)
    assert len(gsm8k) == 662 and {len(item.candidates) for item in gsm8k} == {4}
    assert "generators" in gsm8k[0].extra
