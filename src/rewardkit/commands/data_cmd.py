"""`rewardkit data synth|check`: write the synthetic verifiable pairs, or check that a data source reads cleanly."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.data.formats import DEFAULT_MAX_CHARS
from rewardkit.data.readers import ReadResult, read_pairs, write_pairs_jsonl, write_skip_log
from rewardkit.data.synthetic import DEFAULT_TASKS, SYNTHETIC_TASKS, generate_synthetic_pairs

data_app = typer.Typer(help="Generate and check preference data.", no_args_is_help=True)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add the `data` command group to the rewardkit app."""
    app.add_typer(data_app, name="data")


TASK_HELP = f"Task to include (repeatable): {', '.join(sorted(SYNTHETIC_TASKS))}."
SOURCE_HELP = "File (.jsonl/.json/.csv/.parquet), Hugging Face dataset dir, or Hub dataset name."


@data_app.command("synth")
def synth(
    out: Annotated[Path, typer.Option("--out", help="JSONL file to write.")],
    n: Annotated[int, typer.Option("--n", min=1, help="Number of pairs.")] = 500,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed writes the same file.")] = 0,
    tasks: Annotated[list[str] | None, typer.Option("--task", help=TASK_HELP)] = None,
) -> None:
    """Write seeded synthetic verifiable preference pairs (correct vs plausible wrong answer) as JSONL."""
    try:
        pairs = generate_synthetic_pairs(n, seed=seed, tasks=tasks or DEFAULT_TASKS)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--task") from None
    try:
        write_pairs_jsonl(pairs, out)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(f"wrote {len(pairs):,} pairs to {out} ({dict(Counter(pair.subset for pair in pairs))})")


@data_app.command("check")
def check(
    source: Annotated[str, typer.Argument(help=SOURCE_HELP)],
    column_map: Annotated[
        list[str] | None,
        typer.Option("--column-map", help="Rename a column: their_name=our_name, e.g. question=prompt (repeatable)."),
    ] = None,
    skip_bad_rows: Annotated[
        bool,
        typer.Option("--skip-bad-rows", "--skip-bad", help="Skip bad rows (counted, reported) instead of failing."),
    ] = False,
    split: Annotated[str, typer.Option("--split", help="Split of a Hugging Face dataset.")] = "train",
    limit: Annotated[int | None, typer.Option("--limit", min=0, help="Read at most this many pairs.")] = None,
    max_chars: Annotated[int, typer.Option("--max-chars", min=1, help="Longest prompt/response allowed.")] = (
        DEFAULT_MAX_CHARS
    ),
    skip_log: Annotated[
        Path | None, typer.Option("--skip-log", help="Write skipped rows' reasons here (JSONL).")
    ] = None,
) -> None:
    """Read a data source, print pair counts per category and subset, and report skipped rows."""
    try:
        result = read_pairs(
            source,
            column_map=parse_column_map(column_map or []),
            on_error="skip" if skip_bad_rows else "raise",
            split=split,
            limit=limit,
            max_chars=max_chars,
        )
    except USER_ERRORS as error:
        fail(error)
    Console().print(count_table(result))
    typer.echo(result.summary())
    if skip_log is not None:
        try:
            typer.echo(f"skipped rows written to {write_skip_log(result, skip_log)}")
        except USER_ERRORS as error:
            fail(error)


def parse_column_map(entries: list[str]) -> dict[str, str]:
    """["question=prompt", ...] -> {"question": "prompt", ...}."""
    mapping = {}
    for entry in entries:
        their_name, separator, our_name = entry.partition("=")
        if not separator or not their_name or not our_name:
            raise typer.BadParameter(f"expected their_name=our_name, got {entry!r}", param_hint="--column-map")
        mapping[their_name.strip()] = our_name.strip()
    return mapping


def count_table(result: ReadResult) -> Table:
    """Pairs per (category, subset), categories in first-seen order."""
    counts = Counter((pair.category, pair.subset) for pair in result.pairs)
    table = Table(title=f"{len(result.pairs):,} pairs")
    for column in ("category", "subset", "pairs"):
        table.add_column(column, justify="right" if column == "pairs" else "left")
    for category, category_total in Counter(pair.category for pair in result.pairs).items():
        table.add_row(category, "(all)", f"{category_total:,}", style="bold")
        for (row_category, subset), count in sorted(counts.items()):
            if row_category == category:
                table.add_row("", subset, f"{count:,}")
    return table


@data_app.command("build-rewardbench2")
def build_rewardbench2(
    bon_files: Annotated[list[Path], typer.Argument(help="Best-of-N JSONL files (id, prompt, candidates, correct).")],
    out: Annotated[Path, typer.Option("--out", help="JSONL file of RewardBench 2 rows to write.")],
    ties: Annotated[bool, typer.Option(help="Also write Ties-shaped ref:N / tied:N rows.")] = True,
) -> None:
    """RewardBench 2 rows from Best-of-N files: one correct candidate vs three incorrect ones (`Math`), and Ties rows
    (all correct vs all incorrect candidates; the reference solution vs the same incorrect ones)."""
    from rewardkit.data.bon_data import read_bon_jsonl
    from rewardkit.data.rewardbench2_build import rewardbench2_records, write_records

    try:
        items = [item for path in bon_files for item in read_bon_jsonl(path)]
        records = rewardbench2_records(items, ties=ties)
        write_records(records, out)
    except USER_ERRORS as error:
        fail(error)
    counts = dict(Counter(record["subset"] for record in records))
    typer.echo(f"wrote {len(records):,} RewardBench 2 rows from {len(items):,} questions to {out} ({counts})")
