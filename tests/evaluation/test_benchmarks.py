"""Running models on RewardBench 2, RM-Bench and JudgeBench rows: scores vs pairs, baselines, intervals, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from rewardkit.cli import app
from rewardkit.data.schema import NWayPreference
from rewardkit.evaluation.benchmarks import BENCHMARKS, evaluate_benchmark, judge_rows
from rewardkit.protocol import PreferenceDiagnostics
from tests.data.sample_files import write_jsonl
from tests.evaluation.fakes import JudgeModel, ScoreTableModel, read_in_orders

JUDGEBENCH_ROWS = [
    {
        "pair_id": "k1",
        "source": "mmlu-pro-law",
        "question": "Q1",
        "response_A": "long right answer",
        "response_B": "short",
        "label": "A>B",
    },
    {
        "pair_id": "k2",
        "source": "mmlu-pro-law",
        "question": "Q2",
        "response_A": "tiny",
        "response_B": "long right answer",
        "label": "B>A",
    },
    {
        "pair_id": "m1",
        "source": "livebench-math",
        "question": "Q3",
        "response_A": "long wrong answer",
        "response_B": "right",
        "label": "B>A",
    },
]


def longer_wins(a: str, b: str) -> tuple[float, PreferenceDiagnostics]:
    """A both-orders judge that prefers the longer answer and reads a tie for equal lengths."""
    p = 0.5 if len(a) == len(b) else float(len(a) > len(b))
    return p, read_in_orders(p, p, verdicts=[("A",), ("B",)])


def test_a_pairwise_judge_is_asked_in_both_orders_and_scored_by_judgebench_rule():
    rows = [
        NWayPreference("a", "q", ["longer answer"], ["short"], domain="math", chosen_first=True),
        NWayPreference("b", "q", ["longer answer"], ["short"], domain="math", chosen_first=False),
        NWayPreference("c", "q", ["short"], ["longer answer"], domain="coding", chosen_first=True),
        NWayPreference("d", "q", ["same"], ["emas"], domain="coding", chosen_first=True),
    ]

    judged = judge_rows(BENCHMARKS["judgebench"], JudgeModel(longer_wins), rows, "auto", seed=0, progress=False)

    assert judged.judging == "pairs"
    assert [outcome.values for outcome in judged.outcomes] == [[1, 1], [1, 1], [-1, -1], [0, 0]]
    assert [outcome.credit for outcome in judged.outcomes] == [1, 1, 0, 0]
    assert judged.judge.position_consistency_rate == 1.0 and judged.judge.votes == 8


def test_round_robin_of_a_pairwise_judge_gives_best_of_four_credit():
    rows = [
        NWayPreference("1", "q", ["longest one"], ["a", "bb", "ccc"], subset="Math", domain="Math"),
        NWayPreference("2", "q", ["xx"], ["a", "yy", "b"], subset="Math", domain="Math"),
        NWayPreference("3", "q", ["x"], ["longer", "a", "b"], subset="Math", domain="Math"),
    ]

    result = evaluate_benchmark(
        BENCHMARKS["rewardbench2"], JudgeModel(longer_wins), rows, baselines=(), bootstrap_samples=50, progress=False
    )

    assert result.judging == "pairs"
    assert result.outcomes[0].values == [3.0, 0.0, 1.0, 2.0]
    assert [outcome.credit for outcome in result.outcomes] == [1.0, 0.5, 0.0]
    assert result.estimates["Math"].value == pytest.approx(0.5)


def test_rmbench_cells_asked_as_pairs_match_the_cells_from_scores():
    lengths = ScoreTableModel(lambda response: float(len(response)))
    rows = [
        NWayPreference(str(i), "q", ["c" * (i + 1), "cc" * (i + 1), "ccc"], ["r", "rr" * i, "rrrr"], domain="chat")
        for i in range(4)
    ]

    by_scores = judge_rows(BENCHMARKS["rm-bench"], lengths, rows, "scores", seed=0, progress=False).outcomes
    by_pairs = judge_rows(BENCHMARKS["rm-bench"], lengths, rows, "pairs", seed=3, progress=False).outcomes

    assert [o.values for o in by_pairs] == [o.values for o in by_scores]


def test_baselines_and_intervals_come_with_every_number():
    rows = [
        NWayPreference(str(i), f"q{i}", [f"c{i}", f"cc{i}", f"ccc{i}"], [f"r{i}", f"rr{i}", f"rrr{i}"], domain=domain)
        for i, domain in enumerate(["chat", "chat", "code", "safety", "safety"])
    ]

    result = evaluate_benchmark(
        BENCHMARKS["rm-bench"],
        ScoreTableModel(lambda response: -len(response)),
        rows,
        bootstrap_samples=100,
        progress=False,
    )

    assert set(result.baselines) == {"random", "longer"}
    assert result.baselines["longer"]["overall/easy"].value == 1.0
    assert result.baselines["longer"]["overall/hard"].value == 0.0
    assert result.estimates["overall/hard"].value == 1.0
    assert all(e.ci_low <= e.value <= e.ci_high for e in result.estimates.values())
    assert result.estimates["chat"].n == 2 and result.estimates["overall"].n == 5


def run_cli(*arguments):
    return CliRunner().invoke(app, [*arguments])


def test_eval_benchmark_writes_a_report_and_compare_pairs_two_reports(tmp_path):
    data = write_jsonl(tmp_path / "jb.jsonl", JUDGEBENCH_ROWS)
    for spec in ("longer", "random"):
        result = run_cli(
            "eval",
            "--benchmark",
            "judgebench",
            "--model",
            spec,
            "--data",
            str(data),
            "--report",
            str(tmp_path / spec),
            "--bootstrap",
            "50",
            "--no-progress",
        )
        assert result.exit_code == 0, result.output

    report = json.loads((tmp_path / "longer" / "report.json").read_text())
    compared = run_cli("compare", f"longer={tmp_path / 'longer'}", f"random={tmp_path / 'random'}")

    assert report["benchmark"] == "judgebench"
    assert report["scores"]["knowledge"]["value"] == 1.0 and report["scores"]["math"]["value"] == 0.0
    assert report["scores"]["overall"]["value"] == pytest.approx(2 / 3)
    assert report["baselines"]["longer"]["overall"] == report["scores"]["overall"]
    assert (tmp_path / "longer" / "scores.png").is_file()
    assert compared.exit_code == 0, compared.output
    assert "Paired differences vs longer" in compared.output and "| random |" in compared.output


def test_without_data_offline_the_error_says_to_pass_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", True)

    result = run_cli("eval", "--benchmark", "rm-bench", "--model", "longer", "--report", str(tmp_path))

    assert result.exit_code == 1
    assert "could not load RM-Bench from the Hugging Face Hub (THU-KEG/RM-Bench" in result.output
    assert "Pass --data" in result.output


def test_per_category_keeps_ties_rows_of_a_prompt_together(tmp_path):
    rows = [
        {
            "id": f"{kind}:{n}",
            "prompt": "p",
            "chosen": ["a", "b"] if kind == "tied" else ["a"],
            "rejected": ["x"],
            "subset": "Ties",
        }
        for n in range(5)
        for kind in ("ref", "tied")
    ]
    data = write_jsonl(tmp_path / "rb2.jsonl", rows)

    result = run_cli(
        "eval",
        "--benchmark",
        "rewardbench2",
        "--model",
        "longer",
        "--data",
        str(data),
        "--report",
        str(tmp_path / "r"),
        "--per-category",
        "2",
        "--bootstrap",
        "20",
        "--no-progress",
        "--no-baselines",
    )

    assert result.exit_code == 0, result.output
    ids = [json.loads(line)["id"] for line in (tmp_path / "r" / "predictions.jsonl").read_text().splitlines()]
    assert len(ids) == 4 and {i.split(":")[1] for i in ids} == {i.split(":")[1] for i in ids if i.startswith("ref")}
    assert np.isfinite(json.loads((tmp_path / "r" / "report.json").read_text())["scores"]["Ties"]["value"])


def test_rmbench_report_names_style_bias_and_compare_refuses_mixed_benchmarks(tmp_path):
    rows = [
        {
            "id": f"r{i}",
            "domain": "chat",
            "prompt": f"q{i}",
            "chosen": ["a", "bb b", "cc c c"],
            "rejected": ["x y", "xx", "x"],
        }
        for i in range(3)
    ]
    data = write_jsonl(tmp_path / "rm.jsonl", rows)
    judge_data = write_jsonl(tmp_path / "jb.jsonl", JUDGEBENCH_ROWS)
    for benchmark, path in (("rm-bench", data), ("judgebench", judge_data)):
        result = run_cli(
            "eval",
            "--benchmark",
            benchmark,
            "--model",
            "longer",
            "--data",
            str(path),
            "--report",
            str(tmp_path / benchmark),
            "--bootstrap",
            "20",
            "--no-progress",
        )
        assert result.exit_code == 0, result.output

    markdown = (tmp_path / "rm-bench" / "report.md").read_text()
    mixed = run_cli("compare", str(tmp_path / "rm-bench"), str(tmp_path / "judgebench"))

    assert "Length/style bias is RM-Bench's hard/easy gap" in markdown
    assert "| overall/hard |" in markdown and "| style_bias |" in markdown
    assert mixed.exit_code == 1 and "compare reports of one benchmark at a time" in mixed.output


def test_rewardbench_without_data_offline_says_to_pass_data(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("datasets.config.HF_HUB_OFFLINE", True)

    result = run_cli("eval", "--model", "longer", "--report", str(tmp_path))

    assert result.exit_code == 1
    assert (
        "could not load RewardBench from the Hugging Face Hub (allenai/reward-bench, split filtered)" in result.output
    )


def test_rewardbench_hub_subsets_are_named_by_section():
    from rewardkit.data.benchmark_rows import with_rewardbench_sections
    from rewardkit.data.schema import PreferencePair

    pairs = [
        PreferencePair(str(i), "q", "a", "b", subset=name)
        for i, name in enumerate(["math-prm", "donotanswer", "mt-bench-hard", "other"])
    ]

    assert [pair.category for pair in with_rewardbench_sections(pairs)] == [
        "reasoning",
        "safety",
        "chat_hard",
        "train",
    ]
