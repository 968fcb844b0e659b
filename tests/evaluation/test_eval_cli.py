"""`rewardkit eval` end to end with the `longer` baseline on a small JSONL file."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rewardkit.cli import app

ROWS = [
    {"id": "c1", "prompt": "Say hi", "chosen": "Hello there, friend!", "rejected": "Hi", "subset": "s1"},
    {"id": "c2", "prompt": "Say bye", "chosen": "Bye", "rejected": "Goodbye, see you", "subset": "s1"},
    {
        "id": "r1",
        "prompt": [{"role": "user", "content": "2+2?"}],
        "chosen": "2 + 2 = 4",
        "rejected": "5",
        "subset": "m",
    },
]
CATEGORIES = {"s1": "chat", "m": "reasoning"}


@pytest.fixture
def data_file(tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(row | {"category": CATEGORIES[row["subset"]]}) + "\n" for row in ROWS))
    return path


def run_eval(*arguments):
    return CliRunner().invoke(app, ["eval", *arguments, "--bootstrap", "50", "--no-progress"])


def test_eval_longer_writes_a_report(data_file, tmp_path):
    result = run_eval("--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "out"))

    assert result.exit_code == 0, result.output
    assert "report.md" in result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["sections"]["chat"]["accuracy"] == 0.5
    assert report["sections"]["reasoning"]["accuracy"] == 1.0
    assert report["mean_of_sections"] == 0.75
    assert report["meta"]["model_spec"] == "longer" and report["meta"]["data_path"] == str(data_file)
    assert len((tmp_path / "out" / "predictions.jsonl").read_text().splitlines()) == 3


def test_limit_evaluates_the_first_rows(data_file, tmp_path):
    result = run_eval("--model", "longer", "--data", str(data_file), "--report", str(tmp_path), "--limit", "2")

    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "report.json").read_text())["meta"]["n_rows"] == 2


def test_per_category_evaluates_a_stratified_slice_and_says_so(data_file, tmp_path):
    result = run_eval("--model", "longer", "--data", str(data_file), "--report", str(tmp_path), "--per-category", "1")

    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "report.json").read_text())["meta"]
    assert meta["n_rows"] == 2
    assert meta["data_path"] == f"{data_file} (stratified slice: at most 1 per category, seed 0)"


def test_unknown_model_fails_with_a_message(data_file, tmp_path):
    result = run_eval("--model", "no-such-family", "--data", str(data_file), "--report", str(tmp_path))

    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "Unknown reward model spec 'no-such-family'" in result.output


def test_bad_row_fails_unless_skipped(data_file, tmp_path):
    with data_file.open("a") as handle:
        handle.write('{"id": "bad", "prompt": "p", "chosen": "only chosen"}\n')

    failed = run_eval("--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "a"))
    skipped = run_eval(
        "--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "b"), "--skip-bad-rows"
    )

    assert failed.exit_code == 1 and isinstance(failed.exception, SystemExit)
    assert "pairs.jsonl:4" in failed.output
    assert skipped.exit_code == 0, skipped.output
    assert json.loads((tmp_path / "b" / "report.json").read_text())["meta"]["n_rows"] == 3


def test_column_map_renames_columns(tmp_path):
    data = tmp_path / "renamed.jsonl"
    data.write_text(json.dumps({"id": "x", "question": "q", "good": "a longer answer", "bad": "no"}) + "\n")

    renames = ["--column-map", "question=prompt", "--column-map", "good=chosen", "--column-map", "bad=rejected"]

    result = run_eval("--model", "longer", "--data", str(data), "--report", str(tmp_path / "out"), *renames)

    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out" / "report.json").read_text())["other_sections"]["train"]["accuracy"] == 1.0


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ("template=pairwize", "error: Unknown judge template 'pairwize': choose one of pairwise, pairwise-direct,"),
        ("templates_file=missing.yaml", "error: missing.yaml: cannot read the template file"),
    ],
)
def test_a_bad_judge_template_is_one_clear_line(data_file, tmp_path, tiny_model_dir, option, message):
    result = run_eval(
        "--model", f"judge:{tiny_model_dir}?{option}", "--data", str(data_file), "--report", str(tmp_path)
    )

    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(message)


def test_compare_puts_reports_side_by_side(data_file, tmp_path):
    for model in ("longer", "random"):
        assert run_eval("--model", model, "--data", str(data_file), "--report", str(tmp_path / model)).exit_code == 0

    result = CliRunner().invoke(
        app,
        [
            "compare",
            f"Longer wins (k=1)={tmp_path / 'longer'}",
            str(tmp_path / "random"),
            "--output",
            str(tmp_path / "t.md"),
        ],
    )

    assert result.exit_code == 0, result.output
    table = (tmp_path / "t.md").read_text()
    assert "| Longer wins (k=1) | 50.0" in table and "| random |" in table
    assert "Master-key FPR" in table
    assert "Δ Mean vs Longer wins (k=1)" in table


def test_compare_names_a_missing_report(tmp_path):
    result = CliRunner().invoke(app, ["compare", str(tmp_path / "nothing")])

    assert result.exit_code == 1
    assert "no report at" in result.output


def test_probe_exclude_draws_only_rows_no_earlier_probe_used(data_file, tmp_path):
    first = run_eval(
        "--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "a"), "--master-key-rows", "1"
    )
    assert first.exit_code == 0, first.output
    used = json.loads((tmp_path / "a" / "report.json").read_text())["master_key"]["row_ids"]

    second = run_eval(
        "--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "b"),
        "--master-key-rows", "10", "--probe-exclude", str(tmp_path / "a"),
    )  # fmt: skip

    assert second.exit_code == 0, second.output
    probe = json.loads((tmp_path / "b" / "report.json").read_text())["master_key"]
    assert len(used) == 1 and probe["excluded_rows"] == 1 and probe["n_rows"] == 2
    assert sorted(probe["row_ids"]) == sorted({"c1", "c2", "r1"} - set(used))
    assert "1 rows were not drawn" in (tmp_path / "b" / "report.md").read_text()


def test_probe_exclude_names_a_report_without_probe_rows(data_file, tmp_path):
    no_probe = run_eval(
        "--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "a"), "--master-key-rows", "0"
    )
    assert no_probe.exit_code == 0, no_probe.output

    for report, message in [(tmp_path / "a", "has no master-key probe rows"), (tmp_path / "gone", "no such file")]:
        arguments = ["--model", "longer", "--data", str(data_file), "--report", str(tmp_path / "b")]
        result = run_eval(*arguments, "--probe-exclude", str(report))
        assert result.exit_code != 0 and message in result.output and str(report) in result.output
