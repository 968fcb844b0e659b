"""`rewardkit train bt`: train a Bradley-Terry reward model from a YAML recipe (configs/bt_*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail


def train_bt_command(
    config: Annotated[Path, typer.Option("--config", help="YAML recipe, e.g. configs/bt_smoke.yaml.", dir_okay=False)],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            help="Directory for the model and log (default: recipe's output_dir); checkpoints: OUTPUT.checkpoints.",
        ),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from the last checkpoint in OUTPUT.checkpoints.")
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option(
            "--export", help="After training, also write the standalone model here (as `rewardkit export` does)."
        ),
    ] = None,
    overrides: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="Override a recipe key, e.g. --set learning_rate=5e-5 --set lora.r=8 (repeatable)."
        ),
    ] = None,
) -> None:
    """Train a Bradley-Terry scalar reward model; prints where the model and the training log are."""
    from rewardkit.training import distributed
    from rewardkit.training.bt import train_bt
    from rewardkit.training.config import ConfigError, load_config

    try:
        bt_config = load_config(config, overrides or [])
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    if output is not None:
        bt_config.output_dir = str(output)
    try:
        result = train_bt(bt_config, resume=resume)
    except USER_ERRORS as error:
        fail(error)
    if distributed.is_main_process():
        report_run(result, export)


def report_run(result, export: Path | None) -> None:
    """The run's summary, and the standalone model when --export asks for it (rank 0 of a multi-process run)."""
    accuracy = result.eval_metrics.get("eval_accuracy")
    typer.echo(f"trained on {result.train_pairs:,} pairs in {result.global_step:,} steps ({result.runtime_s:.0f} s)")
    if accuracy is not None:
        typer.echo(f"held-out accuracy: {accuracy:.3f} on {result.eval_pairs:,} pairs")
    typer.echo(f"model: {result.model_dir} (a rewardkit model directory: pass it wherever a model spec is asked)")
    typer.echo(f"training log: {result.log_path}")
    if export is not None:
        from rewardkit.training.export import export_model

        try:
            typer.echo(f"standalone model: {export_model(result.model_dir, export)}")
        except USER_ERRORS as error:
            fail(error)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("bt")(train_bt_command)
