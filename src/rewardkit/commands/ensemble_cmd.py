"""`rewardkit train ensemble` (train BT members that differ by seed, Coste et al. 2023, arXiv 2310.02743 §3) and
`rewardkit ensemble` (combine already trained reward models), both fitting each member's normalization.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.metrics.reward_aggregation import DEFAULT_UWO_LAMBDA, check_method


def train_ensemble_command(
    config: Annotated[Path, typer.Option(help="Ensemble recipe YAML (see configs/ensemble_bt.yaml).")],
    output: Annotated[Path, typer.Option(help="Directory for the members and the ensemble's rewardkit.json.")],
) -> None:
    """Train Bradley-Terry members with different seeds and save them as one ensemble reward model."""
    from rewardkit.training.ensemble import describe, load_recipe, train_ensemble

    try:
        ensemble = train_ensemble(load_recipe(config), output)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(describe(ensemble, output))


def ensemble_command(
    member: Annotated[list[str], typer.Option(help="Member reward model spec; repeat for each member.")],
    output: Annotated[Path, typer.Option(help="Directory for the ensemble's rewardkit.json.")],
    method: Annotated[str, typer.Option(help="mean, wco (min) or uwo (mean − λ·variance).")] = "uwo",
    uwo_lambda: Annotated[float, typer.Option(help="λ of UWO.")] = DEFAULT_UWO_LAMBDA,
    calibration: Annotated[str | None, typer.Option(help="Pairs or Best-of-N file to fit normalization on.")] = None,
    calibration_limit: Annotated[int, typer.Option(min=2, help="Calibration rows to use.")] = 256,
) -> None:
    """Combine trained reward models into one ensemble (Coste et al. 2023), normalizing each member."""
    from rewardkit.training.ensemble import build_ensemble, describe

    try:
        ensemble = build_ensemble(member, output, check_method(method), uwo_lambda, calibration, calibration_limit)
    except USER_ERRORS as error:
        fail(error)
    typer.echo(describe(ensemble, output))


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit train ensemble` and `rewardkit ensemble` to the CLI."""
    train_app.command("ensemble")(train_ensemble_command)
    app.command("ensemble")(ensemble_command)
