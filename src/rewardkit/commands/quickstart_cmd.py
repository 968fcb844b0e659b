"""`rewardkit quickstart`: the main job — train a BT reward model on the default model and embedded synthetic data,
evaluate it next to the baselines (also on a slice of ../shared/data/eval when present), and write one summary.

Sized to finish in a few minutes on 2 CPU cores; a real recipe is configs/bt_default.yaml.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.data.schema import PreferencePair
from rewardkit.data.slices import stratified_sample

logger = logging.getLogger(__name__)

DEFAULT_DEV_FILE = Path("../shared/data/eval/rewardbench_like_dev.jsonl")


@dataclass
class QuickstartConfig:
    """What the main job trains and evaluates; defaults fit a ~10 minute budget on 2 CPU cores."""

    output: Path = field(metadata={"help": "Directory for the model, the data it used and all reports."})
    model: str = field(default="default", metadata={"help": "Backbone of the BT model and of the loglik baseline."})
    n_train: int = field(default=1200, metadata={"help": "Synthetic training pairs."})
    n_eval: int = field(default=200, metadata={"help": "Held-out synthetic pairs (prompts disjoint from training)."})
    max_steps: int = field(default=150, metadata={"help": "Optimizer steps of the LoRA BT run."})
    dev_file: Path = field(default=DEFAULT_DEV_FILE, metadata={"help": "RewardBench-like file; skipped if absent."})
    dev_per_category: int = field(default=40, metadata={"help": "Rows sampled per category of the dev file."})
    master_key_rows: int = field(default=40, metadata={"help": "Rows of the master-key probe per evaluation."})
    seed: int = field(default=0, metadata={"help": "Seed of the data, the split and the training run."})


def quickstart_bt_config(config: QuickstartConfig):
    """The LoRA BT recipe the main job runs (short sequences: synthetic answers are one line)."""
    from rewardkit.training.config import BTConfig, LoraAdapterConfig

    return BTConfig(
        model=config.model,
        adapter="lora",
        lora=LoraAdapterConfig(r=16, alpha=32, dropout=0.0),
        output_dir=str(config.output / "bt_model"),
        max_length=128,
        max_response_length=64,
        learning_rate=3e-4,
        max_steps=config.max_steps,
        per_device_train_batch_size=8,
        eval_steps=50,
        save_steps=50,
        save_total_limit=1,
        logging_steps=10,
        seed=config.seed,
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


def _summary_markdown(config: QuickstartConfig, train_result, tables: dict[str, str], seconds: float) -> str:
    lines = [
        "# rewardkit quickstart",
        "",
        f"Bradley-Terry LoRA reward model on SmolLM2-135M-Instruct, trained on {train_result.train_pairs} synthetic "
        f"verifiable pairs for {train_result.global_step} steps ({train_result.runtime_s:.0f} s); total "
        f"{seconds:.0f} s. Accuracy in % with 95% bootstrap CIs. Baselines: random, longer (longer response wins), "
        "loglik (mean log-probability of the response under the default model).",
        "",
        "A 135M model trained for a few minutes is weak; this run shows the mechanics end to end. Real numbers: "
        "docs/RESULTS.md.",
    ]
    for title, table in tables.items():
        lines += ["", f"## {title}", "", table]
    lines += ["", "Per-model reports (report.md, report.json, plots, predictions.jsonl) are in the `reports/` folder."]
    return "\n".join(lines) + "\n"


def run_quickstart(config: QuickstartConfig) -> Path:
    """Train, evaluate, summarize; return the path of summary.md."""
    from rewardkit.data.readers import read_pairs, write_pairs_jsonl
    from rewardkit.data.synthetic import synthetic_splits
    from rewardkit.evaluation.report import compare_diagnostics, compare_reports
    from rewardkit.training.bt import train_bt
    from rewardkit.training.bt_data import BTData

    started = time.monotonic()
    config.output.mkdir(parents=True, exist_ok=True)
    train_pairs, eval_pairs = synthetic_splits(config.n_train, config.n_eval, seed=config.seed)
    write_pairs_jsonl(eval_pairs, config.output / "synthetic_eval.jsonl")
    data = BTData(train=train_pairs, eval=eval_pairs[:64], source_counts={"synthetic": len(train_pairs)})
    train_result = train_bt(quickstart_bt_config(config), data=data)
    models = {"bt-quickstart": train_result.model_dir, "random": "random", "longer": "longer"}
    models["loglik"] = f"loglik:{config.model}"
    tables, means = {}, {}
    reports = _evaluate_all(
        models, eval_pairs, "synthetic held-out", config.output / "reports" / "synthetic", config.master_key_rows
    )
    tables[f"Held-out synthetic pairs ({len(eval_pairs)})"] = (
        compare_reports(reports) + "\n" + compare_diagnostics(reports)
    )
    means["synthetic_accuracy"] = {
        label: report["other_sections"]["train"]["accuracy"] for label, report in reports.items()
    }
    if config.dev_per_category > 0 and config.dev_file.is_file():
        dev = stratified_sample(read_pairs(config.dev_file).pairs, config.dev_per_category, config.seed)
        reports = _evaluate_all(
            models, dev, str(config.dev_file), config.output / "reports" / "dev", config.master_key_rows
        )
        tables[f"{config.dev_file.name}, stratified slice ({len(dev)} rows)"] = (
            compare_reports(reports) + "\n" + compare_diagnostics(reports)
        )
        means["dev_slice_mean_of_sections"] = {label: report["mean_of_sections"] for label, report in reports.items()}
    else:
        logger.warning("skipping the RewardBench-like evaluation (%s absent or dev_per_category=0)", config.dev_file)
    summary = config.output / "summary.md"
    summary.write_text(_summary_markdown(config, train_result, tables, time.monotonic() - started))
    totals = {"seconds": round(time.monotonic() - started, 1), **means}
    (config.output / "summary.json").write_text(json.dumps(totals, indent=2) + "\n")
    return summary


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    @app.command("quickstart")
    def quickstart(
        output: Annotated[Path, typer.Option(help="Output directory.")] = Path("runs/quickstart"),
        max_steps: Annotated[int, typer.Option(help="Training steps.")] = 150,
        dev_per_category: Annotated[int, typer.Option(help="Dev rows per category (0: skip the dev file).")] = 40,
        seed: Annotated[int, typer.Option(help="Seed.")] = 0,
    ) -> None:
        """The main job: train a BT reward model on synthetic data, evaluate it next to baselines, write a summary."""
        config = QuickstartConfig(output=output, max_steps=max_steps, dev_per_category=dev_per_category, seed=seed)
        try:
            summary = run_quickstart(config)
        except USER_ERRORS as error:
            fail(error)
        typer.echo(summary.read_text())
        typer.echo(f"Report: {summary.resolve()}")
