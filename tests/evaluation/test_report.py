"""Report files (json, md, png, predictions) and the cross-model comparison table."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rewardkit.evaluation.report import (
    compare_judges,
    compare_reports,
    format_score,
    load_report,
    report_dict,
    write_report,
)
from rewardkit.evaluation.rewardbench import evaluate_pairs
from rewardkit.protocol import OrderReading, PreferenceDiagnostics, Votes
from tests.evaluation.fakes import JudgeModel, ScoreTableModel, make_pairs, read_in_orders, win_lose_reward

REQUIRED_KEYS = {"mean_of_sections", "sections", "subsets", "prior_sets", "calibration", "length_bias", "master_key"}
META_KEYS = {"model_spec", "data_path", "n_rows", "seconds", "pairs_per_second", "date", "rewardkit_version"}


@pytest.fixture(scope="module")
def result():
    pairs = [
        *make_pairs("chat-a", "chat", 6, 4),
        *make_pairs("hard-a", "chat_hard", 4, 1),
        *make_pairs("prior-a", "prior_sets", 3, 2),
    ]
    evaluation = evaluate_pairs(
        ScoreTableModel(win_lose_reward), pairs, bootstrap_samples=100, master_key_rows=6, progress=False
    )
    evaluation.model_spec, evaluation.data_path = "fake-spec", "data/fake.jsonl"
    return evaluation


def test_write_report_creates_every_file(result, tmp_path):
    paths = write_report(result, tmp_path / "report")

    assert set(paths) == {"json", "markdown", "predictions", "sections_plot", "reliability_plot"}
    for path in paths.values():
        assert path.is_file() and path.stat().st_size > 0
    assert paths["sections_plot"].read_bytes().startswith(b"\x89PNG")


def test_report_json_has_required_keys(result, tmp_path):
    report = json.loads(write_report(result, tmp_path)["json"].read_text())

    assert REQUIRED_KEYS <= set(report)
    assert META_KEYS <= set(report["meta"])
    assert set(report["sections"]) == {"chat", "chat_hard"}
    assert set(report["sections"]["chat"]) >= {"accuracy", "ci_low", "ci_high", "n"}
    assert report["sections"]["chat"]["accuracy"] == pytest.approx(4 / 6)
    assert report["mean_of_sections"] == pytest.approx((4 / 6 + 1 / 4) / 2)
    assert report["subsets"]["hard-a"] == {"accuracy": 0.25, "n": 4, "category": "chat_hard"}
    assert report["prior_sets"]["n"] == 3
    assert set(report["calibration"]) >= {"ece", "brier", "log_loss", "n"}
    assert report["meta"]["model_spec"] == "fake-spec" and report["meta"]["n_rows"] == 13


def test_predictions_have_one_line_per_row_with_scores(result, tmp_path):
    lines = write_report(result, tmp_path)["predictions"].read_text().splitlines()

    records = [json.loads(line) for line in lines]
    assert len(records) == 13
    first = records[0]
    assert {"id", "subset", "category", "p_chosen", "correct", "chosen_longer"} <= set(first)
    assert (first["score_chosen"], first["score_rejected"], first["correct"]) == (1.0, 0.0, 1.0)


def test_judge_meta_with_numpy_values_is_written(tmp_path):
    unread = OrderReading(0.5, Votes((None,), unreadable=np.True_))
    diagnostics = PreferenceDiagnostics(orders=(unread, OrderReading(0.5)), unreadable=np.True_)
    judge = JudgeModel(lambda a, b: (0.5, diagnostics))
    evaluation = evaluate_pairs(
        judge, make_pairs("j", "chat", 2, 2), bootstrap_samples=10, master_key_rows=0, progress=False
    )

    paths = write_report(evaluation, tmp_path)

    record = json.loads(paths["predictions"].read_text().splitlines()[0])
    assert (record["unreadable"], record["orders_agree"], record["correct"]) == (True, False, 0.5)
    assert "- Pairs with a verdict parse failure (scored as a tie): 2" in paths["markdown"].read_text()


def test_markdown_shows_sections_with_intervals(result, tmp_path):
    markdown = write_report(result, tmp_path)["markdown"].read_text()

    chat = result.sections["chat"]
    assert f"| Chat | {100 * chat.accuracy:.1f} [{100 * chat.ci_low:.1f}, {100 * chat.ci_high:.1f}] | 6 |" in markdown
    for heading in ("## Subsets", "## Calibration", "## Length bias", "## Master-key probe"):
        assert heading in markdown


def test_compare_reports_makes_one_row_per_model(result, tmp_path):
    write_report(result, tmp_path / "fake")
    other = {
        "sections": {"chat": {"accuracy": 0.621, "ci_low": 0.58, "ci_high": 0.663, "n": 10}},
        "mean_of_sections": 0.621,
        "mean_of_sections_ci": {"ci_low": 0.58, "ci_high": 0.663},
        "prior_sets": None,
    }

    table = compare_reports({"fake": tmp_path / "fake", "other": other}).splitlines()

    assert table[0] == "| Model | Chat | Chat Hard | Mean | Prior sets |"
    assert table[3] == "| other | 62.1 [58.0, 66.3] | – | 62.1 [58.0, 66.3] | – |"
    assert table[2].startswith("| fake | 66.7 [")


def test_compare_reports_adds_columns_for_other_categories():
    train = {"accuracy": 0.7, "ci_low": 0.6, "ci_high": 0.8, "n": 50}
    train_only = {"sections": {}, "mean_of_sections": None, "prior_sets": None, "other_sections": {"train": train}}

    table = compare_reports({"bt": train_only}).splitlines()

    assert table[0] == "| Model | Mean | train |"
    assert table[2] == "| bt | – | 70.0 [60.0, 80.0] |"


def test_format_score_uses_percent_with_interval():
    assert format_score({"accuracy": 0.5, "ci_low": 0.25, "ci_high": 0.75}) == "50.0 [25.0, 75.0]"


def test_load_report_names_the_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no report at"):
        load_report(tmp_path)


def test_first_order_half_of_a_judge_gets_its_own_report(tmp_path):
    judge = JudgeModel(lambda a, b: (0.75, read_in_orders(1.0, 0.5, verdicts=[("A",), ("B",)])))
    evaluation = evaluate_pairs(
        judge, make_pairs("j", "chat", 4, 2), bootstrap_samples=10, master_key_rows=0, progress=False
    )
    evaluation.model_spec = "judge:x"

    paths = write_report(evaluation, tmp_path)

    report = json.loads(paths["json"].read_text())
    assert report["first_order"]["report"] == "first_order"
    first = json.loads((tmp_path / "first_order" / "report.json").read_text())
    assert first["meta"]["model_spec"] == "judge:x (first order only)"
    assert first["mean_of_sections"] == pytest.approx(report["first_order"]["mean_of_sections"])
    assert "read from the (A, B) order alone" in paths["markdown"].read_text()


def test_compare_judges_shows_consistency_votes_and_per_key_rates(result):
    half_read = [("A", None), ("A", None)]
    judge = JudgeModel(lambda a, b: (0.75, read_in_orders(0.75, 0.75, verdicts=half_read)))
    evaluation = evaluate_pairs(
        judge, make_pairs("j", "chat", 4, 2), bootstrap_samples=10, master_key_rows=2, progress=False
    )
    judge_report = result_report(evaluation)

    table = compare_judges({"scalar": result_report(result), "judge": judge_report}).splitlines()

    assert len(table) == 3  # header, rule, the judge only: the scalar model has no judge diagnostics
    assert table[0].startswith("| Judge | Position consistency | Pairs with parse failure | Votes | Forced |")
    assert "FPR 'Thought process:'" in table[0]
    assert table[2].startswith("| judge | 100.0% of 4 | 0 | 16 | 0.0% | 50.0% |")
    assert compare_judges({"scalar": result_report(result)}) == ""


def result_report(evaluation):
    """The report as written to report.json."""
    return json.loads(json.dumps(report_dict(evaluation)))
