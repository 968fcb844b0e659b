"""Evaluation reports: report.json, a readable report.md, PNG charts and per-row predictions.jsonl.

The Markdown is rendered from the JSON dictionary, so it can be regenerated from any saved report.json, and
`compare_reports` tabulates several saved reports side by side for the docs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

import rewardkit
from rewardkit.evaluation.rewardbench import PRIOR_SETS, SECTIONS, EvaluationResult, RowPrediction

REPORT_FILES = {
    "json": "report.json",
    "markdown": "report.md",
    "predictions": "predictions.jsonl",
    "sections_plot": "sections.png",
    "reliability_plot": "reliability.png",
}
SECTION_TITLES = {
    "chat": "Chat",
    "chat_hard": "Chat Hard",
    "safety": "Safety",
    "reasoning": "Reasoning",
    "mean_of_sections": "Mean",
    PRIOR_SETS: "Prior sets",
}


FIRST_ORDER_DIRECTORY = "first_order"


def _asdict_or_none(value: Any) -> dict[str, Any] | None:
    return None if value is None else asdict(value)


def _first_order_summary(first_order: EvaluationResult | None) -> dict[str, Any] | None:
    """Headline of the same run read from the (A, B) order alone; the full report is in first_order/."""
    if first_order is None or first_order.mean_of_sections is None:
        return None
    mean = first_order.mean_of_sections
    return {
        "mean_of_sections": mean.accuracy,
        "mean_of_sections_ci": {"ci_low": mean.ci_low, "ci_high": mean.ci_high},
        "report": FIRST_ORDER_DIRECTORY,
    }


def report_dict(result: EvaluationResult) -> dict[str, Any]:
    """The JSON-ready summary of an evaluation (fractions in [0, 1], not percentages)."""
    mean = result.mean_of_sections
    return {
        "mean_of_sections": None if mean is None else mean.accuracy,
        "mean_of_sections_ci": None if mean is None else {"ci_low": mean.ci_low, "ci_high": mean.ci_high},
        "sections": {name: asdict(score) for name, score in result.sections.items()},
        "prior_sets": _asdict_or_none(result.prior_sets),
        "other_sections": {name: asdict(score) for name, score in result.other_sections.items()},
        "subsets": {name: asdict(result.subsets[name]) for name in sorted(result.subsets)},
        "calibration": asdict(result.calibration),
        "length_bias": asdict(result.length_bias),
        "master_key": _asdict_or_none(result.master_key),
        "judge": asdict(result.judge),
        "first_order": _first_order_summary(result.first_order),
        "meta": {
            "model": result.model_name,
            "model_spec": result.model_spec,
            "data_path": result.data_path,
            "n_rows": len(result.rows),
            "seconds": result.seconds,
            "pairs_per_second": result.pairs_per_second,
            "probe_seconds": result.probe_seconds,
            "tie_credit": result.tie_credit,
            "bootstrap_samples": result.bootstrap_samples,
            "seed": result.seed,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rewardkit_version": rewardkit.__version__,
        },
    }


def prediction_record(row: RowPrediction) -> dict[str, Any]:
    """One line of predictions.jsonl; scores appear only when the model reported them."""
    record = {
        "id": row.id,
        "subset": row.subset,
        "category": row.category,
        "p_chosen": row.p_chosen,
        "correct": row.correct,
        "chosen_longer": row.chosen_longer,
        "chosen_first": row.chosen_first,
    }
    if row.score_chosen is not None and row.score_rejected is not None:
        record.update(score_chosen=row.score_chosen, score_rejected=row.score_rejected)
    if row.orders_agree is not None:
        record["orders_agree"] = row.orders_agree
    if row.unreadable is not None:
        record["unreadable"] = row.unreadable
    return record


def _json_scalar(value: Any) -> Any:
    """numpy/torch scalars that models may put in their diagnostics, as plain Python values."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} in a prediction record is not JSON serializable")


def percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def format_score(score: Mapping[str, Any] | None) -> str:
    """'62.1 [58.0, 66.3]' from a section dictionary (accuracy, ci_low, ci_high)."""
    if score is None:
        return "–"
    return f"{percent(score['accuracy'])} [{percent(score['ci_low'])}, {percent(score['ci_high'])}]"


def mean_score(report: Mapping[str, Any]) -> dict[str, Any] | None:
    """mean_of_sections as a section-shaped dictionary, or None when no RewardBench section was present."""
    if report.get("mean_of_sections") is None:
        return None
    return {"accuracy": report["mean_of_sections"], **report["mean_of_sections_ci"]}


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def _section_lines(report: Mapping[str, Any]) -> list[str]:
    rows = [[SECTION_TITLES[name], format_score(score), str(score["n"])] for name, score in report["sections"].items()]
    if report["mean_of_sections"] is not None:
        rows.append(["**Mean of sections**", f"**{format_score(mean_score(report))}**", ""])
    if report["prior_sets"] is not None:
        rows.append(
            ["Prior sets (not in the mean)", format_score(report["prior_sets"]), str(report["prior_sets"]["n"])]
        )
    for name, score in report["other_sections"].items():
        rows.append([f"{name} (not in the mean)", format_score(score), str(score["n"])])
    intro = "Accuracy in %, 95% percentile-bootstrap interval (rows resampled within each subset)."
    return ["## Sections (RewardBench scoring)", "", intro, "", *_table(["Section", "Accuracy", "n"], rows)]


def _subset_lines(report: Mapping[str, Any]) -> list[str]:
    order = {name: index for index, name in enumerate((*SECTIONS, PRIOR_SETS))}
    subsets = report["subsets"]
    names = sorted(subsets, key=lambda name: (order.get(subsets[name]["category"], len(order)), name))
    rows = [
        [name, subsets[name]["category"], percent(subsets[name]["accuracy"]), str(subsets[name]["n"])]
        for name in names
    ]
    return ["## Subsets", "", *_table(["Subset", "Category", "Accuracy", "n"], rows)]


def _calibration_lines(report: Mapping[str, Any]) -> list[str]:
    calibration = report["calibration"]
    rows = [[*(f"{calibration[key]:.4f}" for key in ("ece", "brier", "log_loss")), str(calibration["n"])]]
    note = "P(chosen better) against the gold label; ECE over 10 equal-width bins of the predicted side's confidence."
    return ["## Calibration", "", note, "", *_table(["ECE", "Brier", "Log loss", "n"], rows)]


def _length_bias_lines(report: Mapping[str, Any]) -> list[str]:
    bias = report["length_bias"]
    rows = [
        ["chosen longer", percent(bias["accuracy_chosen_longer"]), str(bias["n_chosen_longer"])],
        ["chosen shorter", percent(bias["accuracy_chosen_shorter"]), str(bias["n_chosen_shorter"])],
        ["equal length (excluded)", "–", str(bias["n_equal_length"])],
    ]
    gap = "–" if bias["gap"] is None else f"{100 * bias['gap']:+.1f} points"
    return ["## Length bias", "", *_table(["Rows where", "Accuracy", "n"], rows), "", f"Gap (longer − shorter): {gap}"]


def _rate_with_interval(rate: float, interval: Sequence[float] | None) -> str:
    return percent(rate) if not interval else f"{percent(rate)} [{percent(interval[0])}, {percent(interval[1])}]"


def _master_key_lines(report: Mapping[str, Any]) -> list[str]:
    probe = report["master_key"]
    if probe is None:
        return []
    intervals = probe.get("per_key_ci", {})
    group_of = {key: name for name, group in probe.get("groups", {}).items() for key in group["keys"]}
    rows = [
        [f"`{key}`", group_of.get(key, "–"), _rate_with_interval(rate, intervals.get(key))]
        for key, rate in probe["per_key"].items()
    ]
    for name, group in probe.get("groups", {}).items():
        interval = (group["ci_low"], group["ci_high"])
        rows.append([f"**{name} keys**", name, f"**{_rate_with_interval(group['false_positive_rate'], interval)}**"])
    rows.append(["**all keys**", "", f"**{percent(probe['false_positive_rate'])}**"])
    note = (
        f"False-positive rate (%) [95% row-bootstrap interval]: how often a content-free answer beats the real chosen "
        f"answer, over {probe['n_rows']} sampled rows, the key shown first in half of them (arXiv 2507.08794). "
        "Training keys are the ones master-key negatives train on by default; held-out keys are never trained on."
    )
    if probe.get("excluded_rows"):
        note += (
            f" {probe['excluded_rows']} rows were not drawn: an earlier report's probe used them (--probe-exclude)."
        )
    return ["## Master-key probe", "", note, "", *_table(["Master key", "Group", "False-positive rate"], rows)]


def _judge_lines(report: Mapping[str, Any]) -> list[str]:
    judge = report["judge"]
    lines = []
    if judge["position_consistency_rate"] is not None:
        lines.append(
            f"- Position consistency: {percent(judge['position_consistency_rate'])}% "
            f"of {judge['n_position_checked']} pairs"
        )
    if judge["parse_failures"] is not None:
        lines.append(f"- Pairs with a verdict parse failure (scored as a tie): {judge['parse_failures']}")
    if judge.get("votes"):
        lines.append(
            f"- Votes: {judge['votes']}, of which {judge['forced_votes']} read after a rationale without a verdict "
            f"(verdict_after_rationale) and {judge['failed_votes']} unreadable"
        )
    first_order = report.get("first_order")
    if first_order is not None:
        interval = first_order["mean_of_sections_ci"]
        lines.append(
            f"- The same run read from the (A, B) order alone: mean of sections "
            f"{format_score({'accuracy': first_order['mean_of_sections'], **interval})} "
            f"(report in `{first_order['report']}/`)"
        )
    return ["## Judge diagnostics", "", *lines] if lines else []


def _header_lines(report: Mapping[str, Any]) -> list[str]:
    meta = report["meta"]
    return [
        f"# Evaluation of `{meta['model_spec'] or meta['model']}`",
        "",
        f"- Data: `{meta['data_path']}` ({meta['n_rows']} pairs)",
        f"- Scoring: {meta['seconds']:.1f} s ({meta['pairs_per_second']:.1f} pairs/s)",
        f"- Probes: {meta['probe_seconds']:.1f} s",
        f"- Seed {meta['seed']}, {meta['bootstrap_samples']} bootstrap samples, tie credit {meta['tie_credit']}",
        f"- rewardkit {meta['rewardkit_version']}, {meta['date']}",
    ]


def render_markdown(report: Mapping[str, Any]) -> str:
    """The human-readable report.md for a report dictionary."""
    parts = [
        _header_lines(report),
        _section_lines(report),
        [f"![sections]({REPORT_FILES['sections_plot']})"],
        _subset_lines(report),
        _calibration_lines(report),
        [f"![reliability diagram]({REPORT_FILES['reliability_plot']})"],
        _length_bias_lines(report),
        _master_key_lines(report),
        _judge_lines(report),
    ]
    return "\n\n".join("\n".join(part) for part in parts if part) + "\n"


def plot_sections(report: Mapping[str, Any], path: Path) -> None:
    """Bar chart of section accuracies (%) with 95% CI error bars and the 50% chance line."""
    scores = {**report["sections"]}
    if report["mean_of_sections"] is not None:
        scores["mean_of_sections"] = mean_score(report)
    if report["prior_sets"] is not None:
        scores[PRIOR_SETS] = report["prior_sets"]
    scores.update(report["other_sections"])
    labels = [SECTION_TITLES.get(name, name) for name in scores]
    heights = [100 * score["accuracy"] for score in scores.values()]
    errors = [
        [100 * (score["accuracy"] - score["ci_low"]) for score in scores.values()],
        [100 * (score["ci_high"] - score["accuracy"]) for score in scores.values()],
    ]
    figure = Figure(figsize=(1.2 * len(labels) + 2, 4))
    axes = figure.subplots()
    axes.bar(labels, heights, yerr=errors, capsize=4, color="tab:blue")
    axes.axhline(50, color="gray", linestyle="--", linewidth=1, label="chance")
    axes.set(ylim=(0, 100), ylabel="accuracy (%)", title=f"{report['meta']['model_spec'] or report['meta']['model']}")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def plot_reliability(report: Mapping[str, Any], path: Path) -> None:
    """Reliability diagram: accuracy vs confidence of the predicted side per bin, with the diagonal."""
    bins = [item for item in report["calibration"]["bins"] if item["count"]]
    figure = Figure(figsize=(5, 4.5))
    axes = figure.subplots()
    centers = [(item["low"] + item["high"]) / 2 for item in bins]
    widths = [item["high"] - item["low"] for item in bins]
    axes.bar(centers, [item["accuracy"] for item in bins], width=widths, edgecolor="black", label="accuracy")
    axes.plot([0, 1], [0, 1], color="gray", linestyle="--", label="perfect calibration")
    for center, item in zip(centers, bins, strict=True):
        axes.annotate(str(item["count"]), (center, item["accuracy"]), ha="center", va="bottom", fontsize=8)
    axes.set(xlim=(0.4, 1.0), ylim=(0, 1.05), xlabel="confidence of the predicted side", ylabel="accuracy")
    axes.set_title(f"ECE {report['calibration']['ece']:.3f}")
    axes.legend(loc="upper left")
    figure.tight_layout()
    figure.savefig(path, dpi=100)


def write_report(result: EvaluationResult, directory: str | Path) -> dict[str, Path]:
    """Write report.json, report.md, sections.png, reliability.png and predictions.jsonl into `directory`."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {kind: directory / name for kind, name in REPORT_FILES.items()}
    report = report_dict(result)
    paths["json"].write_text(json.dumps(report, indent=2) + "\n")
    paths["markdown"].write_text(render_markdown(report))
    with paths["predictions"].open("w") as predictions:
        for row in result.rows:
            predictions.write(json.dumps(prediction_record(row), default=_json_scalar) + "\n")
    plot_sections(report, paths["sections_plot"])
    plot_reliability(report, paths["reliability_plot"])
    if result.first_order is not None:
        result.first_order.model_spec = f"{result.model_spec or result.model_name} (first order only)"
        result.first_order.data_path = result.data_path
        write_report(result.first_order, directory / FIRST_ORDER_DIRECTORY)
    return paths


def load_report(source: Mapping[str, Any] | str | Path) -> Mapping[str, Any]:
    """A report dictionary from itself, a report.json path, or a report directory."""
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    if path.is_dir():
        path = path / REPORT_FILES["json"]
    if not path.is_file():
        raise FileNotFoundError(f"no report at {path}: pass a report directory or its {REPORT_FILES['json']}")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}:{error.lineno}: invalid JSON ({error.msg})") from error


def compare_reports(named_reports: Mapping[str, Mapping[str, Any] | str | Path]) -> str:
    """One Markdown table, a row per model: sections, mean, then prior/other sets, as '62.1 [58.0, 66.3]' (%)."""
    reports = {name: load_report(source) for name, source in named_reports.items()}
    present = [name for name in SECTIONS if any(name in report["sections"] for report in reports.values())]
    separate = {name: None for report in reports.values() for name in report.get("other_sections", {})}
    if any(report.get(PRIOR_SETS) is not None for report in reports.values()):
        separate = {PRIOR_SETS: None, **separate}
    header = ["Model", *(SECTION_TITLES[name] for name in present), "Mean"]
    header += [SECTION_TITLES.get(name, name) for name in separate]
    rows = []
    for model, report in reports.items():
        cells = [format_score(report["sections"].get(name)) for name in present] + [format_score(mean_score(report))]
        cells += [format_score(separate_score(report, name)) for name in separate]
        rows.append([model, *cells])
    return "\n".join(_table(header, rows)) + "\n"


def separate_score(report: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    """A set reported outside the mean: prior sets or another category such as "train"."""
    if name == PRIOR_SETS:
        return report.get(PRIOR_SETS)
    return report.get("other_sections", {}).get(name)


def compare_diagnostics(named_reports: Mapping[str, Mapping[str, Any] | str | Path]) -> str:
    """One Markdown table, a row per model: calibration, length bias and master-key false-positive rate."""
    header = ["Model", "ECE", "Brier", "Acc. chosen longer", "Acc. chosen shorter", "Master-key FPR", "Pairs/s"]
    rows = []
    for model, source in named_reports.items():
        report = load_report(source)
        calibration, bias, probe = report["calibration"], report["length_bias"], report.get("master_key")
        throughput = report.get("meta", {}).get("pairs_per_second")
        rows.append(
            [
                model,
                f"{calibration['ece']:.3f}",
                f"{calibration['brier']:.3f}",
                percent(bias["accuracy_chosen_longer"]),
                percent(bias["accuracy_chosen_shorter"]),
                "–" if probe is None else percent(probe["false_positive_rate"]),
                "–" if throughput is None else f"{throughput:.1f}",
            ]
        )
    return "\n".join(_table(header, rows)) + "\n"


def compare_judges(named_reports: Mapping[str, Mapping[str, Any] | str | Path]) -> str:
    """One Markdown table for the reports of judges: position consistency, parse failures, how votes were read,
    and the master-key false-positive rate of each key. Empty when no report comes from a judge."""
    reports = {name: load_report(source) for name, source in named_reports.items()}
    judged = {name: report for name, report in reports.items() if _is_judge_report(report)}
    if not judged:
        return ""
    keys = list(
        dict.fromkeys(key for report in judged.values() for key in (report.get("master_key") or {}).get("per_key", {}))
    )
    header = ["Judge", "Position consistency", "Pairs with parse failure", "Votes", "Forced", "Unreadable"]
    header += [f"FPR {key!r}" for key in keys]
    rows = [_judge_row(name, report, keys) for name, report in judged.items()]
    return "\n".join(_table(header, rows)) + "\n"


def _is_judge_report(report: Mapping[str, Any]) -> bool:
    judge = report.get("judge") or {}
    return judge.get("parse_failures") is not None or judge.get("position_consistency_rate") is not None


def _judge_row(name: str, report: Mapping[str, Any], keys: list[str]) -> list[str]:
    judge = report["judge"]
    votes = judge.get("votes", 0)
    per_key = (report.get("master_key") or {}).get("per_key", {})
    consistency = judge.get("position_consistency_rate")
    return [
        name,
        "–" if consistency is None else f"{percent(consistency)}% of {judge['n_position_checked']}",
        "–" if judge.get("parse_failures") is None else str(judge["parse_failures"]),
        str(votes),
        f"{percent(judge.get('forced_votes', 0) / votes)}%" if votes else "–",
        f"{percent(judge.get('failed_votes', 0) / votes)}%" if votes else "–",
    ] + [percent(per_key[key]) if key in per_key else "–" for key in keys]
