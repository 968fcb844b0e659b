"""Reports of RewardBench 2 / RM-Bench / JudgeBench runs: report.json, report.md, a plot, predictions.jsonl, and
side-by-side comparisons of reports of one benchmark with paired bootstrap differences.

The paired difference resamples the shared prompts once and recomputes both models' official scores on each
resample (the same units, the same draws), so the interval of B - A is free of the prompt-difficulty variance the
two unpaired intervals share.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

import rewardkit
from rewardkit.evaluation.benchmark_outcomes import RowOutcome, resample_counts, units_of
from rewardkit.evaluation.benchmarks import BENCHMARKS, BenchmarkResult, benchmark_named
from rewardkit.evaluation.paired_difference import refuse_repeated_ids
from rewardkit.evaluation.stats import percentile_interval

REPORT_FILES = {
    "json": "report.json",
    "markdown": "report.md",
    "plot": "scores.png",
    "predictions": "predictions.jsonl",
}
OVERALL = "overall"


def report_dict(result: BenchmarkResult) -> dict[str, Any]:
    """The JSON-ready report (fractions in [0, 1]); every number carries its interval and unit count."""
    benchmark = benchmark_named(result.benchmark)
    return {
        "benchmark": result.benchmark,
        "title": benchmark.title,
        "scores": {name: asdict(estimate) for name, estimate in result.estimates.items()},
        "baselines": {
            spec: {name: asdict(estimate) for name, estimate in scores.items()}
            for spec, scores in result.baselines.items()
        },
        "judging": result.judging,
        "judge": None if result.judge is None else asdict(result.judge),
        "unparsable_verdicts": sum(outcome.unparsable for outcome in result.outcomes),
        "notes": list(benchmark.notes),
        "meta": {
            "model": result.model_name,
            "model_spec": result.model_spec,
            "data_path": result.data_path,
            "n_rows": len(result.outcomes),
            "seconds": result.seconds,
            "bootstrap_samples": result.bootstrap_samples,
            "seed": result.seed,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rewardkit_version": rewardkit.__version__,
        },
    }


def percent(value: float | None) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{100 * value:.1f}"


def format_estimate(estimate: Mapping[str, Any] | None) -> str:
    """'62.1 [58.0, 66.3]' (percent) from an estimate dictionary."""
    if estimate is None:
        return "–"
    return f"{percent(estimate['value'])} [{percent(estimate['ci_low'])}, {percent(estimate['ci_high'])}]"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _score_lines(report: Mapping[str, Any]) -> list[str]:
    baselines = report["baselines"]
    header = ["Score", "Model [95% CI]", *(f"`{spec}` [95% CI]" for spec in baselines), "n"]
    rows = []
    for name, estimate in report["scores"].items():
        label = f"**{name}**" if name == OVERALL else name
        cells = [format_estimate(baselines[spec].get(name)) for spec in baselines]
        rows.append([label, format_estimate(estimate), *cells, str(estimate["n"])])
    intro = (
        f"Percent; 95% percentile-bootstrap intervals ({report['meta']['bootstrap_samples']} resamples of prompts "
        "within each subset/domain); baselines scored on the same rows by the same rule."
    )
    return [f"## {report['title']} scores", "", intro, "", *_table(header, rows)]


def _judge_lines(report: Mapping[str, Any]) -> list[str]:
    lines = [f"- Judging: `{report['judging']}`"]
    judge = report.get("judge")
    if judge and judge.get("position_consistency_rate") is not None:
        lines.append(
            f"- Position consistency: {percent(judge['position_consistency_rate'])}% of "
            f"{judge['n_position_checked']} comparisons"
        )
    if judge and judge.get("parse_failures") is not None:
        lines.append(f"- Comparisons with a verdict parse failure: {judge['parse_failures']}")
    if report["benchmark"] == "judgebench":
        lines.append(f"- Unparsable verdicts (scored 0): {report['unparsable_verdicts']}")
    return ["## How the model was asked", "", *lines]


def render_markdown(report: Mapping[str, Any]) -> str:
    """report.md from a report dictionary."""
    meta = report["meta"]
    header = [
        f"# {report['title']}: `{meta['model_spec'] or meta['model']}`",
        "",
        f"- Data: `{meta['data_path']}` ({meta['n_rows']} rows)",
        f"- Judging time: {meta['seconds']:.1f} s; seed {meta['seed']}",
        f"- rewardkit {meta['rewardkit_version']}, {meta['date']}",
    ]
    parts = [
        header,
        _score_lines(report),
        [f"![scores]({REPORT_FILES['plot']})"],
        ["## Scoring rule", "", *(f"- {note}" for note in report["notes"])],
        _judge_lines(report),
    ]
    return "\n\n".join("\n".join(part) for part in parts) + "\n"


def plot_scores(report: Mapping[str, Any], path: Path) -> None:
    """Bars per subset/domain and overall with 95% intervals; each baseline marked on every bar."""
    names = [name for name in report["scores"] if is_headline(name)]
    scores = [report["scores"][name] for name in names]
    heights = [100 * score["value"] for score in scores]
    errors = [
        [100 * (score["value"] - score["ci_low"]) for score in scores],
        [100 * (score["ci_high"] - score["value"]) for score in scores],
    ]
    figure = Figure(figsize=(1.3 * len(names) + 2.5, 4))
    axes = figure.subplots()
    axes.bar(names, heights, yerr=errors, capsize=4, color="tab:blue", label="model")
    for (spec, baseline), marker in zip(report["baselines"].items(), ("_", "x", "+"), strict=False):
        values = [100 * baseline[name]["value"] if name in baseline else np.nan for name in names]
        axes.scatter(names, values, marker=marker, s=400 if marker == "_" else 60, color="black", label=spec, zorder=3)
    meta = report["meta"]
    axes.set(ylim=(0, 100), ylabel="score (%)", title=f"{report['title']}: {meta['model_spec'] or meta['model']}")
    axes.legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def is_headline(name: str) -> bool:
    """Subsets/domains and overall, and RM-Bench's overall hard/normal/easy; not the Ties terms or the bias gap."""
    return ("/" not in name and name != "style_bias") or name.startswith(f"{OVERALL}/")


def write_benchmark_report(result: BenchmarkResult, directory: str | Path) -> dict[str, Path]:
    """Write report.json, report.md, scores.png and predictions.jsonl into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: directory / name for kind, name in REPORT_FILES.items()}
    report = report_dict(result)
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    paths["markdown"].write_text(render_markdown(report))
    with paths["predictions"].open("w") as handle:
        for outcome in result.outcomes:
            handle.write(json.dumps(outcome.to_record()) + "\n")
    plot_scores(report, paths["plot"])
    return paths


def read_report(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / REPORT_FILES["json"]
    if not path.is_file():
        raise FileNotFoundError(f"no {REPORT_FILES['json']} in {directory}: pass `rewardkit eval` report directories")
    return json.loads(path.read_text())


def read_outcomes(directory: str | Path) -> list[RowOutcome]:
    """The per-row outcomes of a report directory; a bad line is an error naming file and line."""
    path = Path(directory) / REPORT_FILES["predictions"]
    outcomes = []
    with path.open() as handle:
        for number, line in enumerate(handle, start=1):
            try:
                outcomes.append(RowOutcome.from_record(json.loads(line)))
            except (json.JSONDecodeError, TypeError) as error:
                raise ValueError(f"{path}:{number}: unreadable prediction ({error})") from None
    refuse_repeated_ids(path, [outcome.id for outcome in outcomes])
    return outcomes


def paired_differences(
    benchmark: str, base: Sequence[RowOutcome], other: Sequence[RowOutcome], samples: int = 1000, seed: int = 0
) -> tuple[dict[str, tuple[float, float, float]], int]:
    """name -> (B - A, CI low, CI high) on the rows both hold, and how many rows that is."""
    shared = {outcome.id for outcome in other} & {outcome.id for outcome in base}
    if not shared:
        raise ValueError("the two reports share no rows: nothing to pair")
    base_rows = [outcome for outcome in base if outcome.id in shared]
    other_by_id = {outcome.id: outcome for outcome in other}
    other_rows = [other_by_id[outcome.id] for outcome in base_rows]
    units = units_of(base_rows)
    statistics = BENCHMARKS[benchmark].statistics
    ones, draws = np.ones((1, len(units.strata))), resample_counts(units.strata, samples, seed)
    point_base, point_other = statistics(base_rows, units, ones), statistics(other_rows, units, ones)
    replicate_base, replicate_other = statistics(base_rows, units, draws), statistics(other_rows, units, draws)
    differences = {
        name: (
            float(point_other[name][0] - point_base[name][0]),
            *percentile_interval(replicate_other[name] - replicate_base[name]),
        )
        for name in point_base
    }
    return differences, len(base_rows)


def compare_benchmark_reports(named: Mapping[str, str | Path], samples: int = 1000) -> str:
    """Markdown: every report's top-level scores with intervals, then each report minus the first, paired."""
    reports = {name: read_report(directory) for name, directory in named.items()}
    kinds = {report.get("benchmark") for report in reports.values()}
    if len(kinds) != 1:
        raise ValueError(f"compare reports of one benchmark at a time; got {sorted(map(str, kinds))}")
    benchmark = kinds.pop()
    first = next(iter(reports.values()))
    columns = [name for name in first["scores"] if is_headline(name) or name == "style_bias"]
    rows = [
        [name, *(format_estimate(report["scores"].get(column)) for column in columns)]
        for name, report in reports.items()
    ]
    lines = [f"## {first['title']}", "", *_table(["Model", *columns], rows)]
    names = list(named)
    if len(names) > 1:
        base = read_outcomes(named[names[0]])
        paired_rows = []
        for name in names[1:]:
            differences, shared = paired_differences(benchmark, base, read_outcomes(named[name]), samples)
            cells = [_signed(differences[column]) if column in differences else "–" for column in columns]
            paired_rows.append([name, *cells, str(shared)])
        title = f"Paired differences vs {names[0]} (points, 95% CI, shared prompts resampled once for both)"
        lines += ["", f"### {title}", "", *_table(["Model", *columns, "Shared rows"], paired_rows)]
    return "\n".join(lines) + "\n"


def _signed(difference: tuple[float, float, float]) -> str:
    delta, low, high = (100 * value for value in difference)
    return f"{delta:+.1f} [{low:+.1f}, {high:+.1f}]"
