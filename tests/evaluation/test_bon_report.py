"""Best-of-N report files and the `rewardkit bon` command (registered on a fresh typer app)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from rewardkit.commands import bon_cmd
from rewardkit.data.bon_data import BonItem, write_bon_jsonl
from rewardkit.evaluation.bon import evaluate_best_of_n
from rewardkit.evaluation.bon_report import render_markdown, write_bon_report


def bon_app() -> typer.Typer:
    app, train_app = typer.Typer(), typer.Typer()
    bon_cmd.register(app, train_app)
    return app


def toy_items() -> list[BonItem]:
    return [
        BonItem("q1", "p", ["#### 4", "#### 5 and more words", "#### 4."], [True, False, True], answer="4"),
        BonItem("q2", "p", ["A: 7 long answer here", "A: 8", "A: 8"], [True, False, False], answer="7"),
    ]


def test_report_files(tmp_path):
    result = evaluate_best_of_n([], toy_items(), "toy.jsonl", progress=False)
    paths = write_bon_report(result, tmp_path / "report")
    saved = json.loads(paths["json"].read_text())
    assert saved["max_n"] == 3 and saved["items"] == 2
    assert [curve["name"] for curve in saved["baselines"]] == [
        "oracle (any correct)",
        "random pick",
        "majority answer",
    ]
    assert paths["plot"].read_bytes().startswith(b"\x89PNG")
    markdown = render_markdown(result)
    assert "| majority answer | 0.500 | 0.500 | 0.500 |" in markdown
    assert "N=3" in markdown
    assert "| KL(best-of-N), nats | 0.000 | 0.193 | 0.432 |" in markdown


def test_bon_command_end_to_end(tmp_path):
    data = write_bon_jsonl(toy_items(), tmp_path / "bon.jsonl")
    report = tmp_path / "report"
    outcome = CliRunner().invoke(
        bon_app(),
        ["--model", "longer", "--data", str(data), "--report", str(report), "--max-n", "2", "--no-progress"],
    )
    assert outcome.exit_code == 0, outcome.output
    saved = json.loads((report / "bon.json").read_text())
    assert [curve["name"] for curve in saved["selectors"]] == ["longer"]
    # N=2: "longer" picks the long wrong answer in q1 and the long right one in q2 whenever it is in the pair.
    assert saved["selectors"][0]["gold"][1] == pytest.approx((1 / 3 + 2 / 3) / 2)  # q2: {8, 8} has no 7
    assert (report / "bon_curve.png").is_file() and (report / "bon.md").is_file()


def test_bon_command_reports_bad_input_without_traceback(tmp_path):
    data = tmp_path / "bad.jsonl"
    data.write_text(json.dumps({"id": "x", "prompt": "p", "candidates": ["a"], "correct": [True, False]}) + "\n")
    outcome = CliRunner().invoke(bon_app(), ["--data", str(data), "--report", str(tmp_path / "r")])
    assert outcome.exit_code == 1
    assert f"{data}:1" in outcome.output and "field 'correct'" in outcome.output
    outcome = CliRunner().invoke(bon_app(), ["--data", str(data), "--report", str(tmp_path / "r"), "--model", "nope"])
    assert outcome.exit_code == 1
