"""`rewardkit eval`: RewardBench-style evaluation of any reward model spec on a preference file, as a report."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.commands.data_cmd import parse_column_map
from rewardkit.data.benchmark_rows import REWARDBENCH_HUB
from rewardkit.data.readers import read_pairs
from rewardkit.data.schema import NWayPreference, PreferencePair
from rewardkit.machine_errors import memory_guard, writing

if TYPE_CHECKING:
    from rich.table import Table

    from rewardkit.data.errors import DataError
    from rewardkit.evaluation.benchmarks import Benchmark, BenchmarkResult
    from rewardkit.evaluation.rewardbench import EvaluationResult

logger = logging.getLogger(__name__)

EVAL_OUT_OF_MEMORY_ADVICE = "Free the device (other jobs on it), or evaluate a smaller model or on a larger device"


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


def slice_note(per_category: int | None, nested: bool, seed: int) -> str:
    """How a --per-category slice was drawn, for the report's data line ("" without a slice)."""
    if per_category is None:
        return ""
    kind = "nested stratified" if nested else "stratified"
    return f" ({kind} slice: at most {per_category} per category, seed {seed})"


def rewardbench_pairs(
    data: str | None,
    column_map: list[str],
    split: str | None,
    limit: int | None,
    skip_bad_rows: bool,
    per_category: int | None,
    seed: int,
    nested: bool,
) -> tuple[list[PreferencePair], str]:
    """(pairs, where they came from) for a RewardBench-style evaluation: `data`, or RewardBench from the Hub."""
    if data is None:
        return read_rewardbench_hub(split, limit, skip_bad_rows), REWARDBENCH_HUB[0]
    pairs = read_eval_pairs(data, column_map, split or "train", limit, skip_bad_rows, per_category, seed, nested)
    return pairs, data + slice_note(per_category, nested, seed)


def probe_rows_of(reports: list[Path]) -> frozenset[str]:
    """Row ids of the master-key probe stored in earlier `rewardkit eval` reports (a report directory or its
    report.json), so a new probe can draw rows no earlier one used."""
    ids: set[str] = set()
    for report in reports:
        path = report / "report.json" if report.is_dir() else report
        if not path.is_file():
            raise FileNotFoundError(f"--probe-exclude: {path} is not a rewardkit eval report (no such file)")
        try:
            row_ids = (json.loads(path.read_text(encoding="utf-8")).get("master_key") or {}).get("row_ids")
        except (json.JSONDecodeError, AttributeError) as error:
            raise ValueError(f"--probe-exclude: {path} is not a rewardkit eval report.json ({error})") from None
        if not row_ids:
            raise ValueError(f"--probe-exclude: {path} has no master-key probe rows (field master_key.row_ids)")
        ids.update(row_ids)
    return frozenset(ids)


def read_rewardbench_hub(split: str | None, limit: int | None, skip_bad_rows: bool) -> list[PreferencePair]:
    """RewardBench (v1) from the Hub, its subsets named by section; offline, an error that says to pass --data."""
    from rewardkit.data.benchmark_rows import with_rewardbench_sections
    from rewardkit.data.errors import DataError

    name, default_split = REWARDBENCH_HUB
    on_error = "skip" if skip_bad_rows else "raise"
    try:
        read = read_pairs(name, on_error=on_error, split=split or default_split, limit=limit)
    except DataError as error:
        raise hub_unavailable("RewardBench", name, split or default_split, error) from None
    return with_rewardbench_sections(read.pairs)


def hub_unavailable(title: str, name: str, split: str, error: DataError) -> ValueError:
    """The one-line error for a benchmark's Hub dataset that cannot be loaded (offline, most often)."""
    return ValueError(
        f"could not load {title} from the Hugging Face Hub ({name}, split {split}); offline? "
        f"Pass --data FILE|DIR with its rows ({error.reason})"
    )


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


DataOption = Annotated[
    str | None,
    typer.Option(
        help="Rows: a JSONL/JSON/CSV/Parquet file or HF dataset dir/name (the benchmark's native format). "
        "Without it, the benchmark's Hub dataset is loaded."
    ),
]
BenchmarkOption = Annotated[
    str, typer.Option(help="rewardbench (v1 sections, default), rewardbench2, rm-bench or judgebench.")
]
JudgingOption = Annotated[
    str,
    typer.Option(
        help="Benchmarks other than rewardbench: auto (scores if the model rates answers on its own, else "
        "pairs), scores, or pairs (judges: RewardBench 2 rows as a round robin of all pairs)."
    ),
]
BaselinesOption = Annotated[
    bool, typer.Option(help="Benchmarks other than rewardbench: also score the random and longer baselines.")
]


def eval_command(
    model: Annotated[
        str,
        typer.Option(
            help="Reward model spec: a rewardkit directory, a Hugging Face *ForSequenceClassification reward model "
            "(directory or Hub id), random[:seed], longer, loglik[:model-spec]."
        ),
    ],
    report: Annotated[Path, typer.Option(help="Directory for report.json, report.md, charts and predictions.")],
    data: DataOption = None,
    benchmark: BenchmarkOption = "rewardbench",
    judging: JudgingOption = "auto",
    baselines: BaselinesOption = True,
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
    probe_exclude: Annotated[
        list[Path] | None,
        typer.Option(
            help="An earlier report (directory or report.json) whose master-key probe rows this probe must not draw, "
            "for a fresh probe sample (repeatable)."
        ),
    ] = None,
    skip_bad_rows: Annotated[
        bool, typer.Option("--skip-bad-rows", "--skip-bad", help="Skip (and count) malformed rows instead of failing.")
    ] = False,
    column_map: Annotated[
        list[str] | None,
        typer.Option(help="Rename a column: their_name=our_name, e.g. question=prompt (repeatable)."),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Split of a Hugging Face dataset (default: train, or the benchmark's).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Evaluate a reward model on RewardBench (sections, CIs, calibration, length bias, master-key probe) or, with
    --benchmark, on RewardBench 2, RM-Bench or JudgeBench by each benchmark's own scoring rule, with intervals and
    baselines."""
    from rewardkit.evaluation.report import write_report
    from rewardkit.evaluation.rewardbench import evaluate_pairs
    from rewardkit.families.registry import load_reward_model

    if benchmark != "rewardbench":
        options = BenchmarkEvalConfig(
            judging, baselines, bootstrap, seed, limit, per_category, skip_bad_rows, progress
        )
        run_benchmark(benchmark, model, data, split, report, options)
        return
    try:
        pairs, source = rewardbench_pairs(
            data, column_map or [], split, limit, skip_bad_rows, per_category, seed, nested
        )
        excluded = probe_rows_of(probe_exclude or [])
        with memory_guard(EVAL_OUT_OF_MEMORY_ADVICE):
            result = evaluate_pairs(
                load_reward_model(model),
                pairs,
                bootstrap_samples=bootstrap,
                seed=seed,
                master_key_rows=master_key_rows,
                progress=progress,
                probe_exclude=excluded,
            )
    except USER_ERRORS as error:
        fail(error)
    result.model_spec, result.data_path = model, source
    try:
        with writing(report, "report"):
            paths = write_report(result, report)
    except USER_ERRORS as error:
        fail(error)
    print_summary(result, paths["markdown"])


@dataclass(frozen=True)
class BenchmarkEvalConfig:
    """The `rewardkit eval` options a --benchmark run reads."""

    judging: str
    baselines: bool
    bootstrap: int
    seed: int
    limit: int | None
    per_category: int | None
    skip_bad_rows: bool
    progress: bool


def read_benchmark_data(
    benchmark: Benchmark, data: str | None, split: str | None, options: BenchmarkEvalConfig
) -> tuple[list[NWayPreference], str]:
    """The benchmark's rows (from --data, else its Hub dataset) and a description of where they came from."""
    from rewardkit.data.benchmark_rows import read_benchmark_rows
    from rewardkit.data.errors import DataError
    from rewardkit.data.slices import stratified_prompts

    source, split = data or benchmark.hub_dataset, split or benchmark.hub_split
    on_error = "skip" if options.skip_bad_rows else "raise"
    try:
        rows = read_benchmark_rows(source, benchmark.name, on_error=on_error, split=split, limit=options.limit).rows
    except DataError as error:
        if data is not None:
            raise
        raise hub_unavailable(benchmark.title, benchmark.hub_dataset, split, error) from None
    if options.per_category is None:
        return rows, source
    sliced = stratified_prompts(rows, options.per_category, options.seed)
    note = f" (stratified slice: {len(sliced)} of {len(rows)} rows, at most {options.per_category} prompts per domain"
    return sliced, f"{source}{note}, seed {options.seed})"


def run_benchmark(
    name: str, model_spec: str, data: str | None, split: str | None, report: Path, options: BenchmarkEvalConfig
) -> None:
    """`rewardkit eval --benchmark NAME`: read, judge, score with intervals and baselines, write the report."""
    from rewardkit.evaluation.benchmark_report import write_benchmark_report
    from rewardkit.evaluation.benchmarks import benchmark_named, evaluate_benchmark
    from rewardkit.families.registry import load_reward_model

    try:
        benchmark = benchmark_named(name)
        rows, source = read_benchmark_data(benchmark, data, split, options)
        with memory_guard(EVAL_OUT_OF_MEMORY_ADVICE):
            result = evaluate_benchmark(
                benchmark,
                load_reward_model(model_spec),
                rows,
                judging=options.judging,
                baselines=("random", "longer") if options.baselines else (),
                bootstrap_samples=options.bootstrap,
                seed=options.seed,
                progress=options.progress,
            )
    except USER_ERRORS as error:
        fail(error)
    result.model_spec, result.data_path = model_spec, source
    try:
        with writing(report, "report"):
            paths = write_benchmark_report(result, report)
    except USER_ERRORS as error:
        fail(error)
    print_benchmark_summary(result, paths["markdown"])


def print_benchmark_summary(result: BenchmarkResult, report_path: Path) -> None:
    """Top-level scores with intervals, and the baselines' beside them."""
    from rich.console import Console
    from rich.table import Table

    from rewardkit.evaluation.benchmark_report import format_estimate, is_headline

    table = Table(title=f"{result.model_spec} on {result.benchmark} ({len(result.outcomes)} rows)")
    for column in ("Score", "Model [95% CI]", *result.baselines):
        table.add_column(column, justify="left" if column == "Score" else "right")
    for name, estimate in result.estimates.items():
        if not is_headline(name):
            continue
        cells = [format_estimate(asdict(scores[name])) for scores in result.baselines.values() if name in scores]
        table.add_row(name, format_estimate(asdict(estimate)), *cells)
    console = Console()
    console.print(table)
    console.print(f"Judged by {result.judging} in {result.seconds:.1f} s. Report: {report_path}", highlight=False)


def compare_command(
    reports: Annotated[list[str], typer.Argument(help="Report directories, each optionally NAME=DIR.")],
    output: Annotated[Path | None, typer.Option(help="Also write the Markdown tables to this file.")] = None,
) -> None:
    """Side-by-side tables of several `rewardkit eval` reports: sections with CIs, calibration and biases, judge
    diagnostics (position consistency, parse failures, per-key master-key rates), then each report minus the first on
    their shared rows (paired bootstrap interval)."""
    from rewardkit.evaluation.report import compare_diagnostics, compare_reports

    named = dict(_name_and_directory(entry) for entry in reports)
    if _benchmark_of(named) is not None:
        _compare_benchmark(named, output)
        return
    try:
        text = compare_reports(named) + "\n" + compare_diagnostics(named) + judge_table(named) + paired_table(named)
    except USER_ERRORS as error:
        fail(error)
    _emit(text, output)


def _benchmark_of(named: dict[str, str]) -> str | None:
    """The --benchmark of the first report, None for a RewardBench (v1) report."""
    path = Path(next(iter(named.values()))) / "report.json"
    return json.loads(path.read_text()).get("benchmark") if path.is_file() else None


def _compare_benchmark(named: dict[str, str], output: Path | None) -> None:
    from rewardkit.evaluation.benchmark_report import compare_benchmark_reports

    try:
        text = compare_benchmark_reports(named)
    except USER_ERRORS as error:
        fail(error)
    _emit(text, output)


def _emit(text: str, output: Path | None) -> None:
    """Print the comparison and, with --output, write it to that file too."""
    typer.echo(text)
    if output is not None:
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(text)
        except USER_ERRORS as error:
            fail(error)


def judge_table(named: dict[str, str]) -> str:
    """The judges' diagnostics table, when some of the reports come from judges."""
    from rewardkit.evaluation.report import compare_judges

    table = compare_judges(named)
    return "\n" + table if table else ""


def paired_table(named: dict[str, str]) -> str:
    """The paired-difference tables when there are two reports or more: accuracy (from each report's predictions)
    and master-key false-positive rates (from each report's probe rows)."""
    from rewardkit.evaluation.paired_difference import compare_paired, compare_paired_master_keys

    if len(named) < 2:
        return ""
    try:
        text = "\n" + compare_paired(named)
    except FileNotFoundError as error:
        text = f"\n(no paired differences: {error})\n"
    try:
        return text + "\n" + compare_paired_master_keys(named)
    except ValueError as error:
        return text + f"\n(no paired master-key differences: {error})\n"


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
