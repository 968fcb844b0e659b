"""`rewardkit eval`: RewardBench-style evaluation of any reward model spec on a preference file, as a report."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.commands.data_cmd import parse_column_map
from rewardkit.data.readers import read_pairs
from rewardkit.data.schema import PreferencePair

if TYPE_CHECKING:
    from rich.table import Table

    from rewardkit.evaluation.rewardbench import EvaluationResult

logger = logging.getLogger(__name__)


def read_eval_pairs(
    data: str,
    column_map: list[str],
    split: str,
    limit: int | None,
    skip_bad_rows: bool,
    per_category: int | None = None,
    seed: int = 0,
    nested: bool = False,
) -> list[PreferencePair]:
    """Pairs from a file or dataset (the first `limit`, then at most `per_category` of each category, seeded);
    bad rows raise unless skipped (the reader logs how many and why)."""
    from rewardkit.data.slices import stratified_sample

    on_error = "skip" if skip_bad_rows else "raise"
    read = read_pairs(data, column_map=parse_column_map(column_map), on_error=on_error, split=split, limit=limit)
    if per_category is None:
        return read.pairs
    pairs = stratified_sample(read.pairs, per_category, seed, nested=nested)
    logger.info(
        "stratified slice: %d of %d pairs (at most %d per category, seed %d)",
        len(pairs),
        len(read.pairs),
        per_category,
        seed,
    )
    return pairs


def summary_table(result: EvaluationResult) -> Table:
    """Sections, mean and prior sets as a rich table (accuracy in % with the 95% CI)."""
    from rich.table import Table

    from rewardkit.evaluation.report import SECTION_TITLES, format_score

    table = Table(title=f"{result.model_spec or result.model_name} on {len(result.rows)} pairs")
    table.add_column("Section")
    table.add_column("Accuracy [95% CI]", justify="right")
    table.add_column("n", justify="right")
    scores = dict(result.sections)
    if result.mean_of_sections is not None:
        scores["mean_of_sections"] = result.mean_of_sections
    if result.prior_sets is not None:
        scores["prior_sets"] = result.prior_sets
    scores.update(result.other_sections)
    for name, score in scores.items():
        values = {"accuracy": score.accuracy, "ci_low": score.ci_low, "ci_high": score.ci_high}
        table.add_row(SECTION_TITLES.get(name, name), format_score(values), str(score.n))
    return table


def print_summary(result: EvaluationResult, report_path: Path) -> None:
    from rich.console import Console

    from rewardkit.evaluation.report import percent

    console = Console()
    console.print(summary_table(result))
    calibration = result.calibration
    console.print(f"ECE {calibration.ece:.3f}, Brier {calibration.brier:.3f}, log loss {calibration.log_loss:.3f}")
    if result.master_key is not None:
        console.print(f"Master-key false-positive rate: {percent(result.master_key.false_positive_rate)}%")
    console.print(f"{result.pairs_per_second:.1f} pairs/s. Report: {report_path}", highlight=False)


def eval_command(
    model: Annotated[
        str, typer.Option(help="Reward model spec: a saved directory, random[:seed], longer, loglik[:model-spec].")
    ],
    data: Annotated[str, typer.Option(help="Preference pairs: JSONL/JSON/CSV/Parquet file or HF dataset.")],
    report: Annotated[Path, typer.Option(help="Directory for report.json, report.md, charts and predictions.")],
    limit: Annotated[int | None, typer.Option(min=1, help="Evaluate only the first N rows.")] = None,
    per_category: Annotated[
        int | None,
        typer.Option(min=1, help="Evaluate a stratified slice: at most N rows of each category (seeded by --seed)."),
    ] = None,
    nested: Annotated[
        bool,
        typer.Option(
            help="With --per-category: each category in its own seeded order, so a smaller slice is a subset of a "
            "larger one (reports of different slice sizes pair row by row in `rewardkit compare`)."
        ),
    ] = False,
    seed: Annotated[
        int, typer.Option(help="Seed for response positions, bootstrap, probe sampling and --per-category.")
    ] = 0,
    bootstrap: Annotated[int, typer.Option(min=1, help="Bootstrap samples for the 95% intervals.")] = 1000,
    master_key_rows: Annotated[int, typer.Option(min=0, help="Rows for the master-key probe (0: off).")] = 200,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", "--skip-bad", help="Skip (and count) malformed rows instead of failing.")
    ] = False,
    column_map: Annotated[
        list[str] | None,
        typer.Option(help="Rename a column: their_name=our_name, e.g. question=prompt (repeatable)."),
    ] = None,
    split: Annotated[str, typer.Option(help="Split of a Hugging Face dataset.")] = "train",
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Evaluate a reward model RewardBench-style (sections, CIs, calibration, length bias, master-key probe)."""
    from rewardkit.evaluation.report import write_report
    from rewardkit.evaluation.rewardbench import evaluate_pairs
    from rewardkit.families.registry import load_reward_model

    try:
        pairs = read_eval_pairs(data, column_map or [], split, limit, skip_bad_rows, per_category, seed, nested)
        reward_model = load_reward_model(model)
        result = evaluate_pairs(
            reward_model,
            pairs,
            bootstrap_samples=bootstrap,
            seed=seed,
            master_key_rows=master_key_rows,
            progress=progress,
        )
    except USER_ERRORS as error:
        fail(error)
    kind = "nested stratified" if nested else "stratified"
    sliced = f" ({kind} slice: at most {per_category} per category, seed {seed})" if per_category else ""
    result.model_spec, result.data_path = model, data + sliced
    paths = write_report(result, report)
    print_summary(result, paths["markdown"])


def compare_command(
    reports: Annotated[list[str], typer.Argument(help="Report directories, each optionally NAME=DIR.")],
    output: Annotated[Path | None, typer.Option(help="Also write the Markdown tables to this file.")] = None,
) -> None:
    """Side-by-side tables of several `rewardkit eval` reports: sections with CIs, calibration and biases, judge
    diagnostics (position consistency, parse failures, per-key master-key rates), then each report minus the first on
    their shared rows (paired bootstrap interval)."""
    from rewardkit.evaluation.report import compare_diagnostics, compare_reports

    named = dict(_name_and_directory(entry) for entry in reports)
    try:
        text = compare_reports(named) + "\n" + compare_diagnostics(named) + judge_table(named) + paired_table(named)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(text)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text)


def judge_table(named: dict[str, str]) -> str:
    """The judges' diagnostics table, when some of the reports come from judges."""
    from rewardkit.evaluation.report import compare_judges

    table = compare_judges(named)
    return "\n" + table if table else ""


def paired_table(named: dict[str, str]) -> str:
    """The paired-difference table when there are two reports or more and each has its predictions."""
    from rewardkit.evaluation.paired_difference import compare_paired

    if len(named) < 2:
        return ""
    try:
        return "\n" + compare_paired(named)
    except FileNotFoundError as error:
        return f"\n(no paired differences: {error})\n"


def _name_and_directory(entry: str) -> tuple[str, str]:
    """`NAME=DIR` (split at the last `=`, so names such as `CLoud K=4` work) or a bare DIR named after itself."""
    name, separator, directory = entry.rpartition("=")
    if not separator or Path(entry).exists():
        return Path(entry).name, entry
    return name, directory


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit eval` and `rewardkit compare` to the CLI."""
    app.command("eval")(eval_command)
    app.command("compare")(compare_command)
