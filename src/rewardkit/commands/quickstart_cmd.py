"""`rewardkit quickstart`: the main job — train a BT reward model on the default model and embedded synthetic data,
evaluate it next to the baselines (also on a slice of ../shared/data/eval when present), and write one summary.

Sized to the machine: a short probe times a few training steps and the scoring speed of both scored models, then
the run takes as many steps (one synthetic pair per row, seen once) as fit in the wall-clock budget beside the
evaluation, and stops at the deadline if the machine slows down. A real recipe is configs/bt_default.yaml.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import stratified_sample

logger = logging.getLogger(__name__)

DEFAULT_DEV_FILE = Path("../shared/data/eval/rewardbench_like_dev.jsonl")
BATCH_SIZE = 8
PROBE_STEPS = 4
PROBE_PAIRS = 8
EVALUATION_SHARE = 0.5  # the evaluation may take this share of the time left after the probe; beyond, sets shrink
SLOWDOWN_SLACK = 1.25  # planned training may run this much slower than its probe before the deadline stops it
MIN_EVALUATION_ROWS = 10  # per dev category, and per set in tens (the synthetic set keeps 10x this)


@dataclass
class QuickstartConfig:
    """What the main job trains and evaluates; the number of steps is sized to `budget_minutes` unless fixed."""

    output: Path = field(metadata={"help": "Directory for the model, the data it used and all reports."})
    model: str = field(default="default", metadata={"help": "Backbone of the BT model and of the loglik baseline."})
    budget_minutes: float = field(
        default=8.0, metadata={"help": "Wall-clock budget of the whole job, probe included."}
    )
    max_steps: int | None = field(
        default=None, metadata={"help": "Fixed number of optimizer steps (default: as many as fit in the budget)."}
    )
    min_steps: int = field(default=40, metadata={"help": "Fewest steps on a machine without fast bf16."})
    bf16_min_steps: int = field(default=150, metadata={"help": "Fewest steps where bf16 is fast (the old fixed run)."})
    ceiling_steps: int = field(default=600, metadata={"help": "Most steps however fast the machine is."})
    n_eval: int = field(default=200, metadata={"help": "Held-out synthetic pairs (prompts disjoint from training)."})
    dev_file: Path = field(default=DEFAULT_DEV_FILE, metadata={"help": "RewardBench-like file; skipped if absent."})
    dev_per_category: int = field(default=40, metadata={"help": "Rows sampled per category of the dev file."})
    master_key_rows: int = field(default=40, metadata={"help": "Rows of the master-key probe per evaluation."})
    seed: int = field(default=0, metadata={"help": "Seed of the data, the split and the training run."})


def quickstart_bt_config(config: QuickstartConfig, max_steps: int, output_dir: Path):
    """The LoRA BT recipe the main job runs (short sequences: synthetic answers are one line)."""
    from rewardkit.training.config import BTConfig, LoraAdapterConfig

    return BTConfig(
        model=config.model,
        adapter="lora",
        lora=LoraAdapterConfig(r=16, alpha=32, dropout=0.0),
        output_dir=str(output_dir),
        max_length=128,
        max_response_length=64,
        learning_rate=3e-4,
        max_steps=max_steps,
        per_device_train_batch_size=BATCH_SIZE,
        eval_steps=0,
        save_steps=50,
        save_total_limit=1,
        logging_steps=10,
        seed=config.seed,
    )


@dataclass
class EvaluationSets:
    """The pairs every model is evaluated on, by title."""

    synthetic: list[PreferencePair]
    dev: list[PreferencePair]


@dataclass
class QuickstartPlan:
    """What the probe measured and what the run will do; written into the summary."""

    budget_s: float
    probe_s: float
    evaluation_s: float
    steps: int
    train_pairs: int
    seconds_per_step: float
    reason: str
    master_key_rows: int

    def eta_s(self) -> float:
        return self.probe_s + self.steps * self.seconds_per_step + self.evaluation_s

    def describe(self) -> str:
        return (
            f"plan: {self.steps} LoRA steps on {self.train_pairs} synthetic pairs ({self.reason}); evaluation "
            f"~{self.evaluation_s:.0f} s; probe took {self.probe_s:.0f} s; ETA {self.eta_s() / 60:.1f} min of a "
            f"{self.budget_s / 60:.1f} min budget"
        )


def _evaluate_all(
    models: dict[str, str], pairs: list[PreferencePair], data_name: str, report_root: Path, master_key_rows: int
) -> dict:
    """Evaluate every model spec on `pairs`; write one report directory per model; return the report dicts."""
    from rewardkit.evaluation.report import load_report, write_report
    from rewardkit.evaluation.rewardbench import evaluate_pairs
    from rewardkit.families.registry import load_reward_model

    reports = {}
    for label, spec in models.items():
        logger.info("evaluating %s on %s (%d pairs)", label, data_name, len(pairs))
        result = evaluate_pairs(load_reward_model(spec), pairs, master_key_rows=master_key_rows)
        result.model_spec, result.data_path = spec, data_name
        directory = report_root / label.replace(":", "_").replace(" ", "_")
        write_report(result, directory)
        reports[label] = load_report(directory)
    return reports


def _probe_training(config: QuickstartConfig, train_pairs: list[PreferencePair]) -> tuple[float, str]:
    """Seconds per optimizer step of the real recipe on this machine (a throw-away run of a few steps), and the
    directory of the probe's model (used to time scoring)."""
    from rewardkit.training.bt import train_bt
    from rewardkit.training.bt_data import BTData
    from rewardkit.training.time_budget import StepTimer

    timer = StepTimer()
    probe_dir = config.output / "probe"
    shutil.rmtree(probe_dir, ignore_errors=True)
    data = BTData(train=train_pairs[: PROBE_STEPS * BATCH_SIZE], eval=[], source_counts={})
    result = train_bt(quickstart_bt_config(config, PROBE_STEPS, probe_dir), data=data, callbacks=[timer])
    return timer.seconds_per_step(), result.model_dir


def _seconds_per_pair(spec: str, pairs: list[PreferencePair], seed: int) -> float:
    """Measured compare() time per pair of `spec` on a seeded sample of `pairs` (after a one-pair warm-up)."""
    from rewardkit.families.registry import load_reward_model

    model = load_reward_model(spec)
    sample = random.Random(seed).sample(pairs, min(PROBE_PAIRS, len(pairs)))
    model.compare([sample[0].prompt], [sample[0].chosen], [sample[0].rejected])
    started = time.perf_counter()
    model.compare(
        [pair.prompt for pair in sample], [pair.chosen for pair in sample], [pair.rejected for pair in sample]
    )
    return (time.perf_counter() - started) / len(sample)


def _estimate_evaluation_seconds(
    config: QuickstartConfig, scored_specs: list[str], evaluation_sets: EvaluationSets
) -> float:
    """Scoring time of every scored model on every set, its master-key trials counted as pairs (an estimate: the
    reports' bootstrap and plots are not timed)."""
    total = 0.0
    for pairs in (evaluation_sets.synthetic, evaluation_sets.dev):
        if pairs:
            per_set = len(pairs) + min(config.master_key_rows, len(pairs))
            total += sum(_seconds_per_pair(spec, pairs, config.seed) for spec in scored_specs) * per_set
    return total


def _shrunk_to_share(
    config: QuickstartConfig, sets: EvaluationSets, evaluation_s: float, time_left_s: float
) -> tuple[EvaluationSets, int, float, str]:
    """The evaluation sets (and master-key rows) cut so that the estimated evaluation takes at most
    EVALUATION_SHARE of the time left, never below MIN_EVALUATION_ROWS; with the new estimate and why."""
    allowed = EVALUATION_SHARE * time_left_s
    if evaluation_s <= allowed:
        return sets, config.master_key_rows, evaluation_s, ""
    factor = allowed / evaluation_s
    synthetic = sets.synthetic[: max(10 * MIN_EVALUATION_ROWS, int(len(sets.synthetic) * factor))]
    per_category = max(MIN_EVALUATION_ROWS, int(config.dev_per_category * factor))
    dev = stratified_sample(sets.dev, per_category, config.seed) if sets.dev else []
    rows = max(MIN_EVALUATION_ROWS, int(config.master_key_rows * factor))
    kept = (len(synthetic) + len(dev)) / max(len(sets.synthetic) + len(sets.dev), 1)
    why = (
        f"; evaluation estimated at {evaluation_s:.0f} s, over {EVALUATION_SHARE:.0%} of the {time_left_s:.0f} s "
        f"left, so it uses {len(synthetic)} synthetic pairs, {per_category} dev rows per category and {rows} "
        "master-key rows"
    )
    return EvaluationSets(synthetic, dev), rows, evaluation_s * kept, why


def plan_run(
    config: QuickstartConfig, train_pairs: list[PreferencePair], evaluation_sets: EvaluationSets, started: float
) -> tuple[QuickstartPlan, EvaluationSets, float]:
    """Probe, then size the run: the evaluation cut to its share of the time when it is too slow here, then as many
    steps as fit in the budget beside it, within the floor (higher where bf16 is fast, so such machines never train
    less than the old fixed run) and the ceiling. Returns the plan, the evaluation sets and the training deadline
    (a time.monotonic() value)."""
    from rewardkit.training.arguments import use_bf16
    from rewardkit.training.time_budget import plan_steps

    seconds_per_step, probe_model = _probe_training(config, train_pairs)
    evaluation_s = _estimate_evaluation_seconds(config, [probe_model, f"loglik:{config.model}"], evaluation_sets)
    shutil.rmtree(config.output / "probe", ignore_errors=True)
    probe_s = time.monotonic() - started
    budget_s = config.budget_minutes * 60
    evaluation_sets, master_key_rows, evaluation_s, shrunk = _shrunk_to_share(
        config, evaluation_sets, evaluation_s, budget_s - probe_s
    )
    if config.max_steps is not None:
        steps, reason = config.max_steps, "fixed by --max-steps"
    else:
        bf16 = use_bf16(quickstart_bt_config(config, 1, config.output).precision)
        floor = config.bf16_min_steps if bf16 else config.min_steps
        step_plan = plan_steps(budget_s - probe_s - evaluation_s, seconds_per_step, floor, config.ceiling_steps)
        steps, reason = step_plan.steps, step_plan.reason
    plan = QuickstartPlan(
        budget_s,
        probe_s,
        evaluation_s,
        steps,
        min(steps * BATCH_SIZE, len(train_pairs)),
        seconds_per_step,
        reason + shrunk,
        master_key_rows,
    )
    deadline = started + budget_s - evaluation_s
    if config.max_steps is None:
        deadline = training_deadline(deadline, time.monotonic(), steps, seconds_per_step)
    return plan, evaluation_sets, deadline


def training_deadline(budget_deadline: float, now: float, steps: int, seconds_per_step: float) -> float:
    """When training must stop: the budget's deadline, or, when the planned steps (a floor above what fits) end
    later, their measured time with SLOWDOWN_SLACK to spare. The deadline catches a machine that slows down mid-run;
    it must not undo the floor the plan announced."""
    return max(budget_deadline, now + SLOWDOWN_SLACK * steps * seconds_per_step)


def _summary_markdown(
    plan: QuickstartPlan, train_result, stopped_at: int | None, tables: dict[str, str], seconds: float
) -> str:
    stopped = (
        f" The machine slowed down: training stopped at the deadline after step {stopped_at} of {plan.steps}."
        if stopped_at is not None
        else ""
    )
    lines = [
        "# rewardkit quickstart",
        "",
        f"Bradley-Terry LoRA reward model on SmolLM2-135M-Instruct, trained on {train_result.train_pairs} synthetic "
        f"verifiable pairs for {train_result.global_step} steps ({train_result.runtime_s:.0f} s); total "
        f"{seconds:.0f} s. Accuracy in % with 95% bootstrap CIs. Baselines: random, longer (longer response wins), "
        "loglik (mean log-probability of the response under the default model).",
        "",
        f"Sized to this machine: {plan.describe()}.{stopped}",
        "",
        "A 135M model trained for a few minutes is weak; this run shows the mechanics end to end. Real numbers: "
        "docs/RESULTS.md.",
    ]
    for title, table in tables.items():
        lines += ["", f"## {title}", "", table]
    lines += ["", "Per-model reports (report.md, report.json, plots, predictions.jsonl) are in the `reports/` folder."]
    return "\n".join(lines) + "\n"


def _evaluation_sets(config: QuickstartConfig, synthetic: list[PreferencePair]) -> EvaluationSets:
    from rewardkit.data.readers import read_pairs

    if config.dev_per_category > 0 and config.dev_file.is_file():
        dev = stratified_sample(read_pairs(config.dev_file).pairs, config.dev_per_category, config.seed)
    else:
        logger.warning("skipping the RewardBench-like evaluation (%s absent or dev_per_category=0)", config.dev_file)
        dev = []
    return EvaluationSets(synthetic=synthetic, dev=dev)


def _evaluate_sets(
    config: QuickstartConfig, models: dict[str, str], sets: EvaluationSets, master_key_rows: int
) -> tuple[dict, dict]:
    """(tables by title, summary means) over the synthetic held-out set and the dev slice when there is one."""
    from rewardkit.evaluation.report import compare_diagnostics, compare_reports

    report_root = config.output / "reports"
    reports = _evaluate_all(models, sets.synthetic, "synthetic held-out", report_root / "synthetic", master_key_rows)
    tables = {
        f"Held-out synthetic pairs ({len(sets.synthetic)})": compare_reports(reports)
        + "\n"
        + compare_diagnostics(reports)
    }
    means = {
        "synthetic_accuracy": {
            label: report["other_sections"]["train"]["accuracy"] for label, report in reports.items()
        }
    }
    if sets.dev:
        reports = _evaluate_all(models, sets.dev, str(config.dev_file), report_root / "dev", master_key_rows)
        title = f"{config.dev_file.name}, stratified slice ({len(sets.dev)} rows)"
        tables[title] = compare_reports(reports) + "\n" + compare_diagnostics(reports)
        means["dev_slice_mean_of_sections"] = {label: report["mean_of_sections"] for label, report in reports.items()}
    return tables, means


def run_quickstart(config: QuickstartConfig, announce=logger.info) -> Path:
    """Probe, plan, train, evaluate, summarize; return the path of summary.md. `announce` receives the plan."""
    from rewardkit.data.readers import write_pairs_jsonl
    from rewardkit.data.synthetic import synthetic_splits
    from rewardkit.training.bt import train_bt
    from rewardkit.training.bt_data import BTData
    from rewardkit.training.time_budget import StopAtDeadline

    started = time.monotonic()
    config.output.mkdir(parents=True, exist_ok=True)
    most_steps = config.max_steps or config.ceiling_steps
    train_pairs, eval_pairs = synthetic_splits(most_steps * BATCH_SIZE, config.n_eval, seed=config.seed)
    write_pairs_jsonl(eval_pairs, config.output / "synthetic_eval.jsonl")
    sets = _evaluation_sets(config, eval_pairs)
    plan, sets, deadline = plan_run(config, train_pairs, sets, started)
    announce(plan.describe())
    train_pairs = train_pairs[: plan.train_pairs]
    data = BTData(train=train_pairs, eval=eval_pairs[:64], source_counts={"synthetic": len(train_pairs)})
    stop = StopAtDeadline(deadline)
    train_result = train_bt(
        quickstart_bt_config(config, plan.steps, config.output / "bt_model"), data=data, callbacks=[stop]
    )
    models = {"bt-quickstart": train_result.model_dir, "random": "random", "longer": "longer"}
    models["loglik"] = f"loglik:{config.model}"
    tables, means = _evaluate_sets(config, models, sets, plan.master_key_rows)
    seconds = time.monotonic() - started
    summary = config.output / "summary.md"
    summary.write_text(_summary_markdown(plan, train_result, stop.stopped_at_step, tables, seconds))
    totals = {"seconds": round(seconds, 1), "plan": asdict(plan), "steps": train_result.global_step, **means}
    (config.output / "summary.json").write_text(json.dumps(totals, indent=2) + "\n")
    return summary


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    @app.command("quickstart")
    def quickstart(
        output: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/quickstart"),
        budget_minutes: Annotated[
            float, typer.Option(help="Wall-clock budget of the job; the training steps are sized to fit it.")
        ] = 8.0,
        max_steps: Annotated[
            int | None, typer.Option(help="Fixed training steps (default: sized to the budget).")
        ] = None,
        dev_per_category: Annotated[int, typer.Option(help="Dev rows per category (0: skip the dev file).")] = 40,
        seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    ) -> None:
        """The main job: train a BT reward model on synthetic data, evaluate it next to baselines, write a summary."""
        config = QuickstartConfig(
            output=output,
            budget_minutes=budget_minutes,
            max_steps=max_steps,
            dev_per_category=dev_per_category,
            seed=seed,
        )
        try:
            summary = run_quickstart(config, announce=typer.echo)
        except USER_ERRORS as error:
            fail(error)
        typer.echo(summary.read_text())
        typer.echo(f"Report: {summary.resolve()}")
