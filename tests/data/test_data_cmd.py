"""`rewardkit data synth|check` (rewardkit.commands.data_cmd) through typer's test runner."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from rewardkit.commands.data_cmd import register
from rewardkit.data import read_pairs
from tests.data.sample_files import EXAMPLE_ROWS, write_jsonl, write_lines


@pytest.fixture(scope="module")
def app() -> typer.Typer:
    app = typer.Typer()
    register(app, typer.Typer())
    return app


def invoke(app: typer.Typer, *args: str):
    return CliRunner().invoke(app, ["data", *map(str, args)])


def test_synth_writes_deterministic_readable_pairs(app, tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    result = invoke(app, "synth", "--n", 12, "--seed", 3, "--out", first)
    assert result.exit_code == 0, result.output
    assert "wrote 12 pairs" in result.stdout
    invoke(app, "synth", "--n", 12, "--seed", 3, "--out", second)
    assert first.read_bytes() == second.read_bytes()
    assert {pair.subset for pair in read_pairs(first).pairs} == {"arithmetic", "counting", "string"}


def test_synth_unknown_task_is_a_usage_error(app, tmp_path):
    result = invoke(app, "synth", "--n", 3, "--task", "poetry", "--out", tmp_path / "x.jsonl")
    assert result.exit_code == 2 and "poetry" in result.output


def test_check_prints_counts_per_category_and_subset(app, tmp_path):
    result = invoke(app, "check", write_jsonl(tmp_path / "pairs.jsonl", EXAMPLE_ROWS))
    assert result.exit_code == 0, result.output
    assert "reasoning" in result.stdout and "math" in result.stdout and "default" in result.stdout
    assert "read 3 pair(s), skipped none" in result.stdout


def test_check_reports_a_bad_row_without_traceback(app, tmp_path):
    path = write_lines(tmp_path / "pairs.jsonl", [json.dumps(EXAMPLE_ROWS[0]).encode(), b"{oops"])
    result = invoke(app, "check", path)
    assert result.exit_code == 1
    assert f"error: {path}:2 (line 2): is not valid JSON" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("flag", ["--skip-bad-rows", "--skip-bad"])
def test_check_skip_bad_rows_counts_skips_and_writes_the_skip_log(app, tmp_path, flag):
    path = write_lines(tmp_path / "pairs.jsonl", [json.dumps(EXAMPLE_ROWS[0]).encode(), b"{oops"])
    result = invoke(app, "check", path, flag, "--skip-log", tmp_path / "skipped.jsonl")
    assert result.exit_code == 0, result.output
    assert "skipped 1 row(s)" in result.stdout
    assert json.loads((tmp_path / "skipped.jsonl").read_text(encoding="utf-8"))["line"] == 2


def test_check_column_map(app, tmp_path):
    path = write_jsonl(tmp_path / "se.jsonl", [{"question": "q", "response_j": "a", "response_k": "b"}])
    mapped = [
        "--column-map",
        "question=prompt",
        "--column-map",
        "response_j=chosen",
        "--column-map",
        "response_k=rejected",
    ]
    assert invoke(app, "check", path, *mapped).exit_code == 0
    assert invoke(app, "check", path, "--column-map", "question").exit_code == 2
    unknown_target = invoke(app, "check", path, "--column-map", "question=query")
    assert unknown_target.exit_code == 1 and "unknown field" in unknown_target.stderr
