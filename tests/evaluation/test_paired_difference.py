"""Paired differences between two reports: hand-checked deltas, shared rows only, bad files named."""

from __future__ import annotations

import json

import pytest

from rewardkit.evaluation.paired_difference import (
    RowCredit,
    compare_paired,
    compare_paired_master_keys,
    paired_difference,
    paired_master_key,
    read_row_credit,
)


def _rows(spec: dict[str, tuple[str, str, float]]) -> dict[str, RowCredit]:
    return {row_id: RowCredit(*values) for row_id, values in spec.items()}


BASE = _rows(
    {
        "c1": ("easy", "chat", 1.0),
        "c2": ("easy", "chat", 0.0),
        "r1": ("math", "reasoning", 0.0),
        "r2": ("math", "reasoning", 0.5),
        "p1": ("old", "prior_sets", 1.0),
    }
)


def test_identical_reports_differ_by_exactly_zero():
    result = paired_difference(BASE, BASE, samples=200)

    assert (result.delta, result.ci_low, result.ci_high) == (0.0, 0.0, 0.0)
    assert result.n_paired == 5 and result.sections == {"chat": 0.0, "reasoning": 0.0}


def test_delta_is_the_mean_over_sections_of_the_row_differences():
    other = {**BASE, "c2": RowCredit("easy", "chat", 1.0), "r1": RowCredit("math", "reasoning", 1.0)}
    other["p1"] = RowCredit("old", "prior_sets", 0.0)  # prior sets stay out of the mean

    result = paired_difference(BASE, other, samples=500)

    assert result.sections == {"chat": 0.5, "reasoning": 0.5}
    assert result.delta == pytest.approx(0.5)
    assert 0.0 <= result.ci_low <= 0.5 <= result.ci_high <= 1.0


def test_only_rows_both_reports_hold_are_paired():
    other = {"c1": RowCredit("easy", "chat", 0.0), "zz": RowCredit("easy", "chat", 1.0)}

    result = paired_difference(BASE, other, samples=100)

    assert result.n_paired == 1 and result.sections == {"chat": -1.0}


def test_no_shared_section_rows_is_an_error():
    with pytest.raises(ValueError, match="share no rows"):
        paired_difference(BASE, {"p1": RowCredit("old", "prior_sets", 0.0)})


def _write_report(directory, rows):
    directory.mkdir()
    lines = [json.dumps({"id": i, "subset": s, "category": c, "correct": x}) for i, (s, c, x) in rows.items()]
    (directory / "predictions.jsonl").write_text("\n".join(lines) + "\n")
    return directory


def test_table_has_a_row_per_report_after_the_first(tmp_path):
    base = _write_report(tmp_path / "a", {"c1": ("easy", "chat", 0.0), "c2": ("easy", "chat", 0.0)})
    better = _write_report(tmp_path / "b", {"c1": ("easy", "chat", 1.0), "c2": ("easy", "chat", 0.0)})

    table = compare_paired({"A": base, "B": better}, samples=100)

    assert "Δ Mean vs A" in table
    assert "| B | +50.0 [" in table and "| +50.0 | – | – | – | 2 |" in table


def test_a_bad_prediction_line_names_file_and_line(tmp_path):
    report = _write_report(tmp_path / "a", {"c1": ("easy", "chat", 1.0)})
    with (report / "predictions.jsonl").open("a") as handle:
        handle.write('{"id": "c2", "subset": "easy"}\n')

    with pytest.raises(ValueError, match=r"predictions.jsonl:2: unreadable"):
        read_row_credit(report)


def test_a_directory_without_predictions_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no predictions.jsonl"):
        read_row_credit(tmp_path)


def test_rows_sharing_an_id_are_refused_not_dropped(tmp_path):
    base = _write_report(tmp_path / "a", {"c1": ("easy", "chat", 0.0), "c2": ("easy", "chat", 0.0)})
    other = _write_report(tmp_path / "b", {"c1": ("easy", "chat", 1.0), "c2": ("easy", "chat", 1.0)})
    with (other / "predictions.jsonl").open("a") as handle:
        handle.write(json.dumps({"id": "c1", "subset": "easy", "category": "chat", "correct": 0.0}) + "\n")

    with pytest.raises(ValueError, match=r"b/predictions.jsonl:3: id 'c1' repeats line 1 \(1 row\(s\) repeat"):
        compare_paired({"A": base, "B": other}, samples=100)


def test_benchmark_outcomes_sharing_an_id_are_refused(tmp_path):
    from rewardkit.evaluation.benchmark_outcomes import RowOutcome
    from rewardkit.evaluation.benchmark_report import read_outcomes

    outcomes = [RowOutcome(row_id, "Math", "math", row_id, [1.0, 0.0]) for row_id in ("q1", "q2", "q1")]
    (tmp_path / "predictions.jsonl").write_text("".join(json.dumps(row.to_record()) + "\n" for row in outcomes))
    with pytest.raises(ValueError, match=r"predictions.jsonl:3: id 'q1' repeats line 1"):
        read_outcomes(tmp_path)


def _probe_report(fooled: dict[str, str]) -> dict:
    rows = [f"r{index}" for index in range(len(next(iter(fooled.values()))))]
    return {"master_key": {"row_ids": rows, "fooled": fooled}}


def test_master_key_rates_are_paired_per_key_group_and_per_key():
    base = _probe_report({":": "1111", ".": "1100", ";": "1010"})  # ":" and "." are training keys, ";" held out
    other = _probe_report({":": "0000", ".": "1100", ";": "0010"})

    result = paired_master_key(base, other, samples=200)

    assert result["training"].keys == [":", "."] and result["training"].delta == pytest.approx(-0.5)
    assert result["held_out"].keys == [";"] and result["held_out"].delta == pytest.approx(-0.25)
    assert result[":"].delta == -1.0 and (result[":"].ci_low, result[":"].ci_high) == (-1.0, -1.0)
    assert result["."].delta == 0.0 and result["training"].n_paired_rows == 4
    assert result["training"].ci_low <= -0.5 <= result["training"].ci_high


def test_master_key_table_and_missing_outcomes(tmp_path):
    for name, fooled in {"A": {":": "11"}, "B": {":": "01"}}.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "report.json").write_text(json.dumps(_probe_report(fooled)))
    table = compare_paired_master_keys({"A": tmp_path / "A", "B": tmp_path / "B"}, samples=50)
    assert "| B | **training keys** | -50.0 [" in table and "| B | `:` | -50.0 [" in table
    with pytest.raises(ValueError, match="report 'B' has no per-row master-key outcomes"):
        paired_master_key(_probe_report({":": "1"}), {"master_key": {"per_key": {":": 1.0}}})
