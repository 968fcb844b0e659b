"""`rewardkit train cloud-sft | cloud-critiques | cloud`: the three CLoud stages (arXiv 2408.11791, §3), each from
a YAML recipe (configs/cloud_*.yaml) with --set overrides, like `rewardkit train bt`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail

ConfigT = TypeVar("ConfigT")

ConfigOption = Annotated[
    Path, typer.Option("--config", help="YAML recipe, e.g. configs/cloud_sft.yaml.", dir_okay=False)
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", help="Output directory (default: the recipe's output_dir).")
]
ResumeOption = Annotated[bool, typer.Option("--resume", help="Continue the interrupted run in OUTPUT.")]
OverridesOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a recipe key, e.g. --set max_steps=20 --set critique.max_new_tokens=96."),
]


def _recipe(config_class: type[ConfigT], path: Path, overrides: list[str] | None, output: Path | None) -> ConfigT:
    """The validated recipe (exit 2 with file:line on a bad key), its output_dir replaced by --output if given."""
    from rewardkit.training.config import ConfigError, load_config

    try:
        recipe = load_config(path, overrides or [], config_class)
    except ConfigError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(code=2) from None
    if output is not None:
        recipe.output_dir = str(output)
    return recipe


def _run(stage: Callable[..., Any], recipe: Any, resume: bool) -> Any:
    """Run a stage; a user error (bad path, existing output, bad data) prints one line and exits 1."""
    try:
        return stage(recipe, resume=resume)
    except USER_ERRORS as error:
        fail(error)


def _echo_training(result: Any, unit: str, metric: tuple[str, str], model_line: str) -> None:
    """What a training stage did, its held-out `metric` (key, label) when evaluated, where its model and log are."""
    typer.echo(
        f"trained on {result.examples.train:,} {unit} in {result.global_step:,} steps ({result.runtime_s:.0f} s)"
    )
    key, label = metric
    if key in result.eval_metrics:
        typer.echo(f"{label} {result.eval_metrics[key]:.3f} on {result.examples.eval:,} held-out {unit}")
    typer.echo(model_line)
    typer.echo(f"training log: {result.log_path}")


def cloud_sft_command(
    config: ConfigOption, output: OutputOption = None, resume: ResumeOption = False, overrides: OverridesOption = None
) -> None:
    """Stage 1: SFT the backbone to write critiques (oracle critiques, LM loss on critique tokens only)."""
    from rewardkit.training.cloud import train_critique_sft
    from rewardkit.training.cloud_config import CritiqueSFTConfig

    result = _run(train_critique_sft, _recipe(CritiqueSFTConfig, config, overrides, output), resume)
    next_step = f"critic: {result.model_dir} (next: rewardkit train cloud-critiques --set model={result.model_dir})"
    _echo_training(result, "critiques", ("eval_loss", "critique LM loss"), next_step)


def cloud_critiques_command(
    config: ConfigOption, output: OutputOption = None, resume: ResumeOption = False, overrides: OverridesOption = None
) -> None:
    """Stage 2: the stage-1 critic writes a critique of both responses of every training pair (on-policy)."""
    from rewardkit.training.cloud_config import CritiqueGenerationConfig
    from rewardkit.training.cloud_critiques import generate_self_critiques

    result = _run(generate_self_critiques, _recipe(CritiqueGenerationConfig, config, overrides, output), resume)
    resumed = f", resumed after {result.resumed_at:,}" if result.resumed_at else ""
    typer.echo(f"critiqued {result.pairs:,} pairs{resumed} ({result.critiques_per_second:.2f} critiques/s)")
    typer.echo(
        f"critiques: {result.critiques_path} (next: rewardkit train cloud --set 'train=[{result.critiques_path}]')"
    )


def cloud_command(
    config: ConfigOption, output: OutputOption = None, resume: ResumeOption = False, overrides: OverridesOption = None
) -> None:
    """Stage 3: Bradley-Terry on the reward head over (prompt, response, critique) + λ·LM loss on the critiques."""
    from rewardkit.training.cloud import train_cloud
    from rewardkit.training.cloud_config import CloudConfig

    result = _run(train_cloud, _recipe(CloudConfig, config, overrides, output), resume)
    spec = f"cloud:{result.model_dir}?num_samples=1"
    evaluate = f"model: {result.model_dir} (evaluate: rewardkit eval --model '{spec}' ...)"
    _echo_training(result, "pairs", ("eval_accuracy", "accuracy"), evaluate)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    train_app.command("cloud-sft")(cloud_sft_command)
    train_app.command("cloud-critiques")(cloud_critiques_command)
    train_app.command("cloud")(cloud_command)
