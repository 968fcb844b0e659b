"""`rewardkit train genrm|star-sft|star-rationalizer|star-dpo|self-rationalize`: train generative judges from YAML
recipes (configs/genrm.yaml, configs/star_*.yaml, configs/self_rationalize.yaml)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.training import judge_config
from rewardkit.training.config import ConfigError, load_config

# recipe command -> (config class in rewardkit.training.judge_config, "module:function" that trains it)
JUDGE_RECIPES: dict[str, tuple[str, str]] = {
    "genrm": ("GenRMConfig", "rewardkit.training.genrm:train_genrm"),
    "star-sft": ("StarSFTConfig", "rewardkit.training.star:train_star"),
    "star-rationalizer": ("StarRationalizerConfig", "rewardkit.training.star:train_star"),
    "star-dpo": ("StarDPOConfig", "rewardkit.training.star:train_star"),
    "self-rationalize": ("SelfRationalizeConfig", "rewardkit.training.self_rationalize:train_self_rationalize"),
}


def _trainer(target: str) -> Callable[[Any], Any]:
    module_name, _, function_name = target.partition(":")
    return getattr(importlib.import_module(module_name), function_name)


def run_judge_recipe(recipe: str, config_path: Path, output: Path | None, overrides: list[str], resume: bool = False):
    """Load the recipe's config (YAML + overrides), train (or continue an interrupted run with `resume`), and
    return the JudgeTrainResult."""
    class_name, target = JUDGE_RECIPES[recipe]
    config = load_config(config_path, overrides, getattr(judge_config, class_name))
    if output is not None:
        config.output_dir = str(output)
    return _trainer(target)(config, resume=resume)


def _report(result) -> None:
    for record in result.rounds:
        typer.echo(" ".join(f"{key}={value}" for key, value in record.items()))
    typer.echo(f"judge: {result.model_dir} (a judge directory: pass it wherever a reward-model spec is asked)")
    typer.echo(f"round log: {result.rounds_log}; training log: {result.train_log} ({result.runtime_s:.0f} s)")


def make_command(recipe: str) -> Callable[..., None]:
    """The typer command that trains `recipe`."""

    def command(
        config: Annotated[Path, typer.Option("--config", help="YAML recipe (see configs/).", dir_okay=False)],
        output: Annotated[
            Path | None, typer.Option("--output", help="Directory for the judge and its logs (default: output_dir).")
        ] = None,
        overrides: Annotated[
            list[str] | None,
            typer.Option("--set", help="Override a recipe key, e.g. --set rounds=1 --set sampling.temperature=1.0."),
        ] = None,
        resume: Annotated[
            bool,
            typer.Option(
                "--resume",
                help="Continue the interrupted run in OUTPUT after its last finished round or stage (same recipe "
                "and --set values); the stage that was cut short runs again.",
            ),
        ] = False,
    ) -> None:
        try:
            result = run_judge_recipe(recipe, config, output, overrides or [], resume)
        except ConfigError as error:
            typer.echo(f"error: {error}", err=True)
            raise typer.Exit(code=2) from None
        except (*USER_ERRORS, KeyError) as error:
            fail(error)
        _report(result)

    recipe_doc = " ".join((getattr(judge_config, JUDGE_RECIPES[recipe][0]).__doc__ or "").split())
    command.__doc__ = f"{recipe_doc} Prints each round's statistics and where the judge is."
    return command


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    for recipe in JUDGE_RECIPES:
        train_app.command(recipe)(make_command(recipe))
