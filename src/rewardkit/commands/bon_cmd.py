"""`rewardkit bon`: Best-of-N evaluation of reward models on candidates with gold correctness, as a report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail

if TYPE_CHECKING:
    from rich.table import Table

    from rewardkit.evaluation.bon import BonResult


def summary_table(result: BonResult) -> Table:
    """Gold accuracy per selector and baseline, one column per N (percent)."""
    from rich.table import Table

    table = Table(title=f"Best-of-N gold accuracy (%) on {result.items} prompts")
    table.add_column("selector")
    for n in range(1, result.max_n + 1):
        table.add_column(f"N={n}", justify="right")
    for curve in result.selectors + result.baselines:
        table.add_row(curve.name, *(f"{100 * value:.1f}" for value in curve.gold))
    return table


def bon_command(
    data: Annotated[Path, typer.Option(help="Best-of-N JSONL: id, prompt, candidates, correct (bool per candidate).")],
    report: Annotated[Path, typer.Option(help="Directory for bon.json, bon.md and bon_curve.png.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            help="Reward model spec (saved dir, ensemble dir, random, longer, ...). Repeat it to compare several "
            "models and add their mean/WCO/UWO ensembles. Omit it for the baselines only."
        ),
    ] = None,
    max_n: Annotated[
        int | None, typer.Option(min=1, help="Largest N (default: fewest candidates of any row).")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Use only the first N rows.")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Responses per model.score call.")] = 32,
    uwo_lambda: Annotated[
        float | None,
        typer.Option(help="λ of UWO = mean − λ·variance (Coste et al. 2023); default: an ensemble's own λ, else 0.5."),
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Expected gold accuracy of each reward model's Best-of-N pick (exact over random N-subsets) with baselines."""
    from rich.console import Console

    from rewardkit.data.bon_data import read_bon_jsonl
    from rewardkit.evaluation.bon import evaluate_best_of_n
    from rewardkit.evaluation.bon_report import write_bon_report
    from rewardkit.families.registry import load_reward_model

    specs = model or []
    try:
        items = read_bon_jsonl(data, limit=limit)
        models = [(spec, load_reward_model(spec)) for spec in specs]
        result = evaluate_best_of_n(
            models, items, str(data), max_n=max_n, uwo_lambda=uwo_lambda, batch_size=batch_size, progress=progress
        )
    except USER_ERRORS as error:
        fail(error)
    paths = write_bon_report(result, report)
    console = Console()
    console.print(summary_table(result))
    console.print(f"Report: {paths['markdown']}, plot: {paths['plot']}", highlight=False)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit bon` to the CLI."""
    app.command("bon")(bon_command)
