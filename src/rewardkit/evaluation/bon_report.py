"""Best-of-N report files: bon.json (all numbers), bon.md (tables) and bon_curve.png (gold and proxy vs N, and the
over-optimization view: gold and proxy against KL(best-of-N || base) = log N - (N - 1) / N)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from rewardkit.evaluation.bon import BonCurve, BonResult, best_of_n_kl  # noqa: E402

_BASELINE_STYLES = {"oracle (any correct)": ":", "random pick": "--", "majority answer": "-."}


def _table(curves: list[BonCurve], max_n: int, values: str) -> list[str]:
    """A markdown table: one row per curve, one column per N."""
    header = "| selector | " + " | ".join(f"N={n}" for n in range(1, max_n + 1)) + " |"
    kl_row = "| KL(best-of-N), nats | " + " | ".join(f"{best_of_n_kl(n):.3f}" for n in range(1, max_n + 1)) + " |"
    lines = [header, "|---" * (max_n + 1) + "|", kl_row]
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


def _plot_over_optimization(axis, curves: list[BonCurve], max_n: int, colors: list[str]) -> None:
    """Gold accuracy (solid) and proxy reward (dashed, right axis) against the KL of best-of-N sampling."""
    kl = [best_of_n_kl(n) for n in range(1, max_n + 1)]
    proxy_axis = axis.twinx()
    for curve, color in zip(curves, colors, strict=True):
        axis.plot(kl, curve.gold, marker="o", color=color)
        if curve.proxy is not None:
            proxy_axis.plot(kl, curve.proxy, linestyle="--", marker="x", color=color)
    axis.set(title="Over-optimization: gold (solid) vs proxy (dashed)", xlabel="KL(best-of-N || base), nats")
    axis.set_ylabel("gold accuracy")
    proxy_axis.set_ylabel("proxy reward (normalized)")
    axis.grid(alpha=0.3)


def plot_curves(result: BonResult, path: Path) -> Path:
    """Gold accuracy vs N (selectors and baselines), proxy reward vs N (selectors), and both against KL."""
    figure, (gold_axis, proxy_axis, kl_axis) = plt.subplots(1, 3, figsize=(18, 4.8))
    sizes = list(range(1, result.max_n + 1))
    colors = []
    for curve in result.selectors:
        line = gold_axis.plot(sizes, curve.gold, marker="o", label=curve.name)[0]
        colors.append(line.get_color())
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
    _plot_over_optimization(kl_axis, result.selectors, result.max_n, colors)
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
