"""Best-of-N report files: bon.json (all numbers), bon.md (tables) and bon_curve.png (gold and proxy vs N)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rewardkit.evaluation.bon import BonCurve, BonResult  # noqa: E402

_BASELINE_STYLES = {"oracle (any correct)": ":", "random pick": "--", "majority answer": "-."}


def _table(curves: list[BonCurve], max_n: int, values: str) -> list[str]:
    """A markdown table: one row per curve, one column per N."""
    header = "| selector | " + " | ".join(f"N={n}" for n in range(1, max_n + 1)) + " |"
    lines = [header, "|---" * (max_n + 1) + "|"]
    for curve in curves:
        row = getattr(curve, values)
        if row is not None:
            lines.append(f"| {curve.name} | " + " | ".join(f"{round(value, 3) + 0.0:.3f}" for value in row) + " |")
    return lines


def render_markdown(result: BonResult) -> str:
    """Gold accuracy for every selector and baseline, then the proxy reward the selectors reach."""
    lines = [
        f"# Best-of-N on {result.data}",
        "",
        f"{result.items} prompts, {'/'.join(map(str, result.candidates_per_item))} candidates each; expectations are "
        "exact over uniformly random N-subsets (ties broken uniformly). "
        f"Final answers extracted from {result.answers_extracted:.1%} of candidates (majority vote).",
        "",
        "## Gold accuracy of the selected candidate",
        "",
        *_table(result.selectors + result.baselines, result.max_n, "gold"),
        "",
        "## Proxy reward of the selected candidate (normalized; Coste et al. 2023 over-optimization view)",
        "",
        *_table(result.selectors, result.max_n, "proxy"),
        "",
        *(f"- {note}" for note in result.notes),
        *(f"- {name}: {seconds}" for name, seconds in result.timings.items()),
    ]
    return "\n".join(lines) + "\n"


def plot_curves(result: BonResult, path: Path) -> Path:
    """Left: gold accuracy vs N (selectors and baselines); right: proxy reward vs N (selectors)."""
    figure, (gold_axis, proxy_axis) = plt.subplots(1, 2, figsize=(12, 4.8))
    sizes = list(range(1, result.max_n + 1))
    for curve in result.selectors:
        line = gold_axis.plot(sizes, curve.gold, marker="o", label=curve.name)[0]
        if curve.proxy is not None:
            proxy_axis.plot(sizes, curve.proxy, marker="o", color=line.get_color(), label=curve.name)
    for curve in result.baselines:
        gold_axis.plot(
            sizes, curve.gold, linestyle=_BASELINE_STYLES.get(curve.name, "--"), color="gray", label=curve.name
        )
    gold_axis.set(title="Gold accuracy of the Best-of-N pick", xlabel="N", ylabel="expected accuracy")
    proxy_axis.set(title="Proxy reward of the pick (normalized)", xlabel="N", ylabel="expected proxy reward")
    for axis in (gold_axis, proxy_axis):
        axis.set_xticks(sizes)
        axis.grid(alpha=0.3)
    gold_axis.legend(fontsize=7, loc="best")
    figure.suptitle(f"Best-of-N: {result.data} ({result.items} prompts)")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return path


def write_bon_report(result: BonResult, directory: str | Path) -> dict[str, Path]:
    """Write bon.json, bon.md and bon_curve.png into `directory`; returns their paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {"json": directory / "bon.json", "markdown": directory / "bon.md", "plot": directory / "bon_curve.png"}
    paths["json"].write_text(json.dumps(result.to_dict(), indent=2) + "\n")
    paths["markdown"].write_text(render_markdown(result))
    plot_curves(result, paths["plot"])
    return paths
