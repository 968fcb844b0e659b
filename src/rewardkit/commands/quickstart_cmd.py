"""`rewardkit quickstart`: the main job — train a BT reward model on the default model and embedded synthetic data,
evaluate it next to the baselines (also on a slice of ../shared/data/eval when present), and write one summary.

Sized to the machine: a short probe times a few training steps and the scoring speed of the trained model (and of
the loglik baseline when there is room for it); the evaluation gets its share of the budget (baselines left out,
then sets cut, where it is slow); the run takes as many steps (one synthetic pair per row, seen once) as fit beside
it, and stops at the deadline if the machine slows down. A real recipe is configs/bt_default.yaml.
"""

from __future__ import annotations

import json
import logging
import random
import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import stratified_sample

logger = logging.getLogger(__name__)

DEFAULT_DEV_FILE = Path("../shared/data/eval/rewardbench_like_dev.jsonl")
BATCH_SIZE = 8
PROBE_STEPS = 3  # the first warms up; the median of the others is the step time
PROBE_PAIRS = 8
EVALUATION_SHARE = 0.4  # the evaluation may take this share of the time left after the probe; beyond, it shrinks
OVERHEAD_S = 20.0  # not timed by the probe: saving the model, loading each scored model, bootstrap, plots
# A master-key row (its real answer scored once, 22 content-free keys packed after its prompt) took as long as 2.3
# synthetic or 2.7 dev pairs with 20 rows a set, but 5.5 dev pairs with 40 rows (quickstarts on an AVX2-only CPU,
# fp32, 2026-12-07; 5.5-6 before packing): counted near the high end, since the budget must hold.
MASTER_KEY_ROW_PAIRS = 5.0
TRAINED_LABEL = "bt-quickstart"
LOGLIK_LABEL = "loglik"
# the loglik baseline costs at least the trained model per pair (it reads every token of both sides through the
# output layer and shares no prompt), so an evaluation with it takes at least twice the trained model's alone
LOGLIK_EVALUATION_FACTOR = 2.0
SLOWDOWN_SLACK = 1.25  # a floor of steps that does not fit may run this much slower than planned before it is stopped
REPLAN_AFTER_STEPS = 6  # training re-plans its steps from the median of its own steps 2..6 (the probe's can be off)
REPLAN_AGAIN_AT = (0.5, 0.8, 0.95)  # and again at these fractions of the run, from the steps since the re-plan before
REPLAN_GROWTH = 3  # the train set offered holds this many times the planned steps (within the ceiling), room to grow
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
    min_steps: int = field(default=24, metadata={"help": "Fewest steps on a machine without fast bf16."})
    bf16_min_steps: int = field(default=150, metadata={"help": "Fewest steps where bf16 is fast (the old fixed run)."})
    ceiling_steps: int = field(default=600, metadata={"help": "Most steps however fast the machine is."})
    n_eval: int = field(default=200, metadata={"help": "Held-out synthetic pairs (prompts disjoint from training)."})
    dev_file: Path = field(default=DEFAULT_DEV_FILE, metadata={"help": "RewardBench-like file; skipped if absent."})
    dev_per_category: int = field(default=40, metadata={"help": "Rows sampled per category of the dev file."})
    master_key_rows: int = field(default=40, metadata={"help": "Rows of the master-key probe per evaluation."})
    loglik_baseline: bool = field(
        default=True, metadata={"help": "Evaluate the loglik baseline too, when the budget leaves room for it."}
    )
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

    def named(self) -> dict[str, list[PreferencePair]]:
        return {"synthetic": self.synthetic, "dev": self.dev}


@dataclass
class EvaluationPlan:
    """What the evaluation scores (model labels in order, sets, master-key rows), its estimate and why."""

    labels: list[str]
    sets: EvaluationSets
    master_key_rows: int
    seconds: float
    note: str = ""
    rates: dict[str, dict[str, float]] = field(default_factory=dict)  # what it was sized from, to size it again
    offered: EvaluationSets | None = None

    def describe(self) -> str:
        return (
            f"{', '.join(self.labels)} on {len(self.sets.synthetic)} synthetic pairs, {len(self.sets.dev)} dev rows "
            f"and {self.master_key_rows} master-key rows, ~{self.seconds:.0f} s"
        )


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
        return self.probe_s + self.steps * self.seconds_per_step + self.evaluation_s + OVERHEAD_S

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


def _seconds_per_pair(model, pairs: list[PreferencePair], seed: int) -> float:
    """Measured compare() time per pair of `model` on a seeded sample of `pairs` (after a one-pair warm-up)."""
    sample = random.Random(seed).sample(pairs, min(PROBE_PAIRS, len(pairs)))
    model.compare([sample[0].prompt], [sample[0].chosen], [sample[0].rejected])
    started = time.perf_counter()
    model.compare(
        [pair.prompt for pair in sample], [pair.chosen for pair in sample], [pair.rejected for pair in sample]
    )
    return (time.perf_counter() - started) / len(sample)


def measured_rates(spec: str, sets: EvaluationSets, seed: int) -> dict[str, float]:
    """Seconds per pair of the model `spec` on each non-empty evaluation set (the model loaded once)."""
    from rewardkit.families.registry import load_reward_model

    model = load_reward_model(spec)
    return {name: _seconds_per_pair(model, pairs, seed) for name, pairs in sets.named().items() if pairs}


def evaluation_seconds(rates: dict[str, dict[str, float]], sets: EvaluationSets, master_key_rows: int) -> float:
    """Estimated scoring time of every model in `rates` (label -> set name -> seconds per pair) on every set, a
    master-key row counted as MASTER_KEY_ROW_PAIRS pairs (the reports' bootstrap and plots are in OVERHEAD_S)."""
    total = 0.0
    for name, pairs in sets.named().items():
        if pairs:
            work = len(pairs) + MASTER_KEY_ROW_PAIRS * min(master_key_rows, len(pairs))
            total += work * sum(model_rates[name] for model_rates in rates.values())
    return total


def _dev_rows_per_category(config: QuickstartConfig, factor: float) -> int:
    return max(MIN_EVALUATION_ROWS, int(config.dev_per_category * factor))


def _shrunk_sets(config: QuickstartConfig, sets: EvaluationSets, factor: float) -> tuple[EvaluationSets, int]:
    """The sets and master-key rows cut to `factor` of their size, never below MIN_EVALUATION_ROWS (the synthetic
    set keeps 10x that); the dev slice stays stratified."""
    synthetic = sets.synthetic[: max(10 * MIN_EVALUATION_ROWS, int(len(sets.synthetic) * factor))]
    per_category = _dev_rows_per_category(config, factor)
    dev = stratified_sample(sets.dev, per_category, config.seed) if sets.dev else []
    return EvaluationSets(synthetic, dev), max(MIN_EVALUATION_ROWS, int(config.master_key_rows * factor))


def _cut_until_it_fits(
    config: QuickstartConfig, sets: EvaluationSets, rates: dict[str, dict[str, float]], allowed_s: float
) -> tuple[EvaluationSets, int, str]:
    """The sets and master-key rows cut step by step until the estimate fits `allowed_s` or they reach their
    minimum; with the note that says what is kept."""
    factor, small, rows = 1.0, sets, config.master_key_rows
    while factor > 0.05 and evaluation_seconds(rates, small, rows) > allowed_s:
        factor *= 0.8
        small, rows = _shrunk_sets(config, sets, factor)
    dev_rows = _dev_rows_per_category(config, factor) if small.dev else 0
    note = (
        f", and it uses {len(small.synthetic)} synthetic pairs, {dev_rows} dev rows per category and {rows} "
        "master-key rows"
    )
    return small, rows, note


def size_evaluation(
    config: QuickstartConfig, sets: EvaluationSets, rates: dict[str, dict[str, float]], allowed_s: float
) -> EvaluationPlan:
    """The evaluation that fits in `allowed_s`: every model in `rates` (the trained model first) on the full sets
    when it fits; else the baselines after the first are left out, then the sets are cut step by step down to
    their minimum. The note says what was left out and why."""
    return replace(_fitted_evaluation(config, sets, rates, allowed_s), rates=rates, offered=sets)


def _fitted_evaluation(
    config: QuickstartConfig, sets: EvaluationSets, rates: dict[str, dict[str, float]], allowed_s: float
) -> EvaluationPlan:
    labels = list(rates)
    full_s = evaluation_seconds(rates, sets, config.master_key_rows)
    if full_s <= allowed_s:
        return EvaluationPlan(labels, sets, config.master_key_rows, full_s)
    note = f"; evaluation estimated at {full_s:.0f} s, over the {allowed_s:.0f} s it may take"
    while len(labels) > 1:
        note += f", so the {labels.pop()} baseline is left out"
        seconds = evaluation_seconds({label: rates[label] for label in labels}, sets, config.master_key_rows)
        if seconds <= allowed_s:
            return EvaluationPlan(labels, sets, config.master_key_rows, seconds, note)
    kept = {label: rates[label] for label in labels}
    small, rows, cut = _cut_until_it_fits(config, sets, kept, allowed_s)
    return EvaluationPlan(labels, small, rows, evaluation_seconds(kept, small, rows), note + cut)


def _floor_steps(config: QuickstartConfig) -> int:
    from rewardkit.training.arguments import use_bf16

    bf16 = use_bf16(quickstart_bt_config(config, 1, config.output).precision)
    return config.bf16_min_steps if bf16 else config.min_steps


def plan_run(
    config: QuickstartConfig, train_pairs: list[PreferencePair], sets: EvaluationSets, started: float
) -> tuple[QuickstartPlan, EvaluationPlan, float]:
    """Probe, then size the run. The evaluation may take EVALUATION_SHARE of the time left, less where the floor of
    training steps needs more; the loglik baseline is timed (and later kept) only when the trained model's evaluation
    leaves room for it (it costs at least as much); then as many steps as fit beside the evaluation, within the
    floor (higher where bf16 is fast, so such machines never train less than the old fixed run) and the ceiling.
    Returns the plan, the evaluation plan and the deadline by which training must end for the budget (a
    time.monotonic() value)."""
    from rewardkit.training.time_budget import plan_steps

    seconds_per_step, probe_model = _probe_training(config, train_pairs)
    rates = {TRAINED_LABEL: measured_rates(probe_model, sets, config.seed)}
    shutil.rmtree(config.output / "probe", ignore_errors=True)
    budget_s = config.budget_minutes * 60
    floor = config.max_steps if config.max_steps is not None else _floor_steps(config)
    allowed_s = _allowed_evaluation_seconds(budget_s - (time.monotonic() - started), floor * seconds_per_step)
    loglik_note = ""
    trained_s = evaluation_seconds(rates, sets, config.master_key_rows)
    if config.loglik_baseline and LOGLIK_EVALUATION_FACTOR * trained_s < allowed_s:
        rates[LOGLIK_LABEL] = measured_rates(f"loglik:{config.model}", sets, config.seed)
    elif config.loglik_baseline:
        loglik_note = (
            f"; the loglik baseline is left out untimed (the trained model's evaluation, ~{trained_s:.0f} s, leaves "
            f"no room for a baseline that costs at least as much in the {allowed_s:.0f} s the evaluation may take)"
        )
    probe_s = time.monotonic() - started
    allowed_s = _allowed_evaluation_seconds(budget_s - probe_s, floor * seconds_per_step)
    evaluation = size_evaluation(config, sets, rates, allowed_s)
    if config.max_steps is not None:
        steps, reason = config.max_steps, "fixed by --max-steps"
    else:
        training_s = budget_s - probe_s - OVERHEAD_S - evaluation.seconds
        step_plan = plan_steps(training_s, seconds_per_step, floor, config.ceiling_steps)
        steps, reason = step_plan.steps, step_plan.reason
    plan = QuickstartPlan(
        budget_s,
        probe_s,
        evaluation.seconds,
        steps,
        min(steps * BATCH_SIZE, len(train_pairs)),
        seconds_per_step,
        reason + loglik_note + evaluation.note,
        evaluation.master_key_rows,
    )
    return plan, evaluation, started + budget_s - OVERHEAD_S - evaluation.seconds


def _allowed_evaluation_seconds(time_left_s: float, floor_training_s: float) -> float:
    """The evaluation's share of the time left, less where the floor of training steps needs more of it."""
    usable = time_left_s - OVERHEAD_S
    return max(0.0, min(EVALUATION_SHARE * usable, usable - floor_training_s))


def training_deadline(budget_deadline: float, now: float, floor_steps: int, seconds_per_step: float) -> float:
    """When training must stop: the budget's deadline, or, when the floor's steps end later (a floor above what
    fits), their measured time with SLOWDOWN_SLACK to spare. The deadline catches a machine that slows down mid-run;
    it must not undo the floor the plan announced, and steps planned to fill the budget get no slack past it."""
    return max(budget_deadline, now + SLOWDOWN_SLACK * floor_steps * seconds_per_step)


def replan_record(replan) -> dict | None:
    """What the re-plans during training decided (None when training ended before the first)."""
    if not replan.replans:
        return None
    first, last = replan.replans[0], replan.replans[-1]
    how = (
        f" and {first.seconds_per_token * 1e3:.2f} ms a padded token; a step ahead predicted as the mean of the two "
        f"rules takes {first.plan.seconds_per_step:.2f} s"
        if first.seconds_per_token
        else ""
    )
    again = ", ".join(f"after step {later.after_steps} to {later.total_steps}" for later in replan.replans[1:])
    return {
        "after_steps": first.after_steps,
        "seconds_per_step": first.seconds_per_step,
        "seconds_per_padded_token": first.seconds_per_token,
        "planned_steps": first.planned_steps,
        "steps": last.total_steps,
        "replans": [
            {"after_steps": each.after_steps, "timed_steps": each.timed_steps, "steps": each.total_steps}
            for each in replan.replans
        ],
        "note": (
            f"re-planned after {first.after_steps} steps: they ran at {first.seconds_per_step:.2f} s a step (median)"
            f"{how}, so {first.change()} ({first.plan.reason}, after the "
            f"first {first.after_steps})"
            + (f"; re-planned again from the steps since the one before, {again}" if again else "")
        ),
    }


def _summary_markdown(
    plan: QuickstartPlan,
    train_result,
    stopped_at: int | None,
    replanned: dict | None,
    tables: dict[str, str],
    seconds: float,
    evaluation_s: float,
) -> str:
    with_loglik = any(LOGLIK_LABEL in table for table in tables.values())
    planned_steps = replanned["steps"] if replanned else plan.steps
    stopped = (
        f" Steps ran slower than planned: training stopped at the deadline after step {stopped_at} of {planned_steps}."
        if stopped_at is not None
        else ""
    )
    if replanned:
        stopped = f" Then training {replanned['note']}.{stopped}"
    seen = min(train_result.global_step * BATCH_SIZE, train_result.train_pairs)
    lines = [
        "# rewardkit quickstart",
        "",
        f"Bradley-Terry LoRA reward model on SmolLM2-135M-Instruct, trained on {seen} synthetic verifiable pairs "
        f"for {train_result.global_step} steps ({train_result.runtime_s:.0f} s"
        + ("; pairs packed, a pair's prompt read once" if train_result.pair_packing else "")
        + f"); evaluation {evaluation_s:.0f} s; "
        f"total {seconds:.0f} s. Accuracy in % with 95% bootstrap CIs. Baselines: random, longer (longer response "
        "wins)" + (", loglik (mean log-probability of the response under the default model)." if with_loglik else "."),
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


def _evaluate_sets(config: QuickstartConfig, models: dict[str, str], evaluation: EvaluationPlan) -> tuple[dict, dict]:
    """(tables by title, summary means) over the synthetic held-out set and the dev slice when there is one."""
    from rewardkit.evaluation.report import compare_diagnostics, compare_reports

    report_root = config.output / "reports"
    sets, rows = evaluation.sets, evaluation.master_key_rows
    reports = _evaluate_all(models, sets.synthetic, "synthetic held-out", report_root / "synthetic", rows)
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
        reports = _evaluate_all(models, sets.dev, str(config.dev_file), report_root / "dev", rows)
        title = f"{config.dev_file.name}, stratified slice ({len(sets.dev)} rows)"
        tables[title] = compare_reports(reports) + "\n" + compare_diagnostics(reports)
        means["dev_slice_mean_of_sections"] = {label: report["mean_of_sections"] for label, report in reports.items()}
    return tables, means


def _scored_models(config: QuickstartConfig, model_dir: str, evaluation: EvaluationPlan) -> dict[str, str]:
    """Label -> spec of every evaluated model: the trained one, the free baselines, loglik when the plan kept it."""
    models = {TRAINED_LABEL: model_dir, "random": "random", "longer": "longer"}
    if LOGLIK_LABEL in evaluation.labels:
        models[LOGLIK_LABEL] = f"loglik:{config.model}"
    return models


class EvaluationRegrownAtReplan:
    """At training's first re-plan: when the floor of steps, at their measured time, leaves the evaluation more of
    the time left than the probe's step time did, the evaluation is sized again (it grows, never shrinks: a slower
    step is the floor's to absorb, with the deadline's slack) and training's deadline moves to leave it that time."""

    def __init__(self, config: QuickstartConfig, evaluation: EvaluationPlan, budget_deadline: float) -> None:
        self.config, self.planned, self.evaluation = config, evaluation, evaluation
        self.job_end = budget_deadline + OVERHEAD_S + evaluation.seconds

    def __call__(self, seconds_per_step: float, floor_steps_left: int) -> float:
        allowed = _allowed_evaluation_seconds(self.job_end - time.monotonic(), floor_steps_left * seconds_per_step)
        regrown = size_evaluation(self.config, self.planned.offered, self.planned.rates, allowed)
        if regrown.seconds > self.planned.seconds:
            self.evaluation = regrown
        return self.job_end - OVERHEAD_S - self.evaluation.seconds

    def note(self) -> str:
        if self.evaluation is self.planned:
            return ""
        return (
            f"; with the measured step time the floor of steps left the evaluation more time than planned, so it was "
            f"sized again: {self.evaluation.describe()} (planned: {self.planned.describe()})"
        )


def _train_to_plan(
    config: QuickstartConfig, plan: QuickstartPlan, evaluation: EvaluationPlan, train_pairs, budget_deadline: float
):
    """Train the planned steps, stopped at the deadline if the machine slows down (the budget's, or a floor's
    measured time with slack); unless the steps are fixed, re-planned after the first REPLAN_AFTER_STEPS and again at
    REPLAN_AGAIN_AT of the run from their measured time (the data offered leaves room to grow), the evaluation
    regrown at the first where the measured steps leave it more time. Returns the train result, the step where the
    deadline stopped it (or None), the re-plan record and the evaluation to run."""
    from rewardkit.training.bt import train_bt
    from rewardkit.training.bt_data import BTData
    from rewardkit.training.time_budget import ReplanFromMeasuredSteps, StopAtDeadline

    fixed = config.max_steps is not None
    floor = min(plan.steps, _floor_steps(config))
    floor_kept = training_deadline(budget_deadline, time.monotonic(), floor, plan.seconds_per_step)
    stop = StopAtDeadline(budget_deadline if fixed else floor_kept)
    replan, offered_steps, regrow = None, plan.steps, EvaluationRegrownAtReplan(config, evaluation, budget_deadline)
    if not fixed:
        offered_steps = min(config.ceiling_steps, REPLAN_GROWTH * plan.steps)
        replan = ReplanFromMeasuredSteps(
            stop,
            budget_deadline,
            REPLAN_AFTER_STEPS,
            _floor_steps(config),
            config.ceiling_steps,
            SLOWDOWN_SLACK,
            again_at=REPLAN_AGAIN_AT,
            deadline_for=regrow,
        )
    offered = train_pairs[: offered_steps * BATCH_SIZE]
    # no evaluation inside training: the held-out evaluation right after it covers the same pairs
    data = BTData(train=offered, eval=[], source_counts={"synthetic": len(offered)})
    result = train_bt(
        quickstart_bt_config(config, plan.steps, config.output / "bt_model"),
        data=data,
        callbacks=[stop] + ([replan] if replan else []),
    )
    record = replan_record(replan) if replan else None
    if record and regrow.note():
        record["note"] += regrow.note()
        record["evaluation"] = regrow.evaluation.describe()
    return result, stop.stopped_at_step, record, regrow.evaluation


def run_quickstart(config: QuickstartConfig, announce=logger.info) -> Path:
    """Probe, plan, train, evaluate, summarize; return the path of summary.md. `announce` receives the plan."""
    from rewardkit.data.readers import write_pairs_jsonl
    from rewardkit.data.synthetic import synthetic_splits

    started = time.monotonic()
    config.output.mkdir(parents=True, exist_ok=True)
    most_steps = config.max_steps or config.ceiling_steps
    train_pairs, eval_pairs = synthetic_splits(most_steps * BATCH_SIZE, config.n_eval, seed=config.seed)
    write_pairs_jsonl(eval_pairs, config.output / "synthetic_eval.jsonl")
    plan, evaluation, budget_deadline = plan_run(config, train_pairs, _evaluation_sets(config, eval_pairs), started)
    announce(plan.describe())
    train_result, stopped_at, replanned, evaluation = _train_to_plan(
        config, plan, evaluation, train_pairs, budget_deadline
    )
    evaluation_started = time.monotonic()
    tables, means = _evaluate_sets(config, _scored_models(config, train_result.model_dir, evaluation), evaluation)
    evaluation_s = time.monotonic() - evaluation_started
    seconds = time.monotonic() - started
    summary = config.output / "summary.md"
    summary.write_text(_summary_markdown(plan, train_result, stopped_at, replanned, tables, seconds, evaluation_s))
    totals = {
        "seconds": round(seconds, 1),
        "evaluation_seconds": round(evaluation_s, 1),
        "plan": asdict(plan),
        "replanned": replanned,
        "steps": train_result.global_step,
        "pairs_seen": min(train_result.global_step * BATCH_SIZE, train_result.train_pairs),
        "pair_packing": train_result.pair_packing,
        **means,
    }
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
        loglik: Annotated[
            bool, typer.Option(help="Evaluate the loglik baseline too, when the budget leaves room for it.")
        ] = True,
        seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    ) -> None:
        """The main job: train a BT reward model on synthetic data, evaluate it next to baselines, write a summary."""
        config = QuickstartConfig(
            output=output,
            budget_minutes=budget_minutes,
            max_steps=max_steps,
            dev_per_category=dev_per_category,
            loglik_baseline=loglik,
            seed=seed,
        )
        try:
            summary = run_quickstart(config, announce=typer.echo)
        except USER_ERRORS as error:
            fail(error)
        typer.echo(summary.read_text())
        typer.echo(f"Report: {summary.resolve()}")
