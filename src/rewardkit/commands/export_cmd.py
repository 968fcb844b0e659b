"""`rewardkit export`: a trained BT reward model as a standalone Hugging Face model directory (optionally uploaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail


def export_command(
    model_dir: Annotated[
        Path, typer.Argument(help="A rewardkit BT model directory (what `rewardkit train bt` wrote).")
    ],
    output: Annotated[Path, typer.Argument(help="New directory for the standalone model.")],
    report: Annotated[
        Path | None, typer.Option(help="A `rewardkit eval` report directory to summarize in the model card.")
    ] = None,
    push_to_hub: Annotated[
        str | None, typer.Option("--push-to-hub", help="Upload the exported directory to this Hub repo (owner/name).")
    ] = None,
    private: Annotated[bool, typer.Option(help="Create the Hub repo as private.")] = False,
) -> None:
    """Write MODEL_DIR as a standalone model in OUTPUT: LoRA merged, pad token consistent, a model card, no
    checkpoints and no local paths; loadable with AutoModelForSequenceClassification alone."""
    from rewardkit.training.export import export_model
    from rewardkit.training.export import push_to_hub as upload

    try:
        exported = export_model(model_dir, output, report_dir=report)
        typer.echo(f"exported: {exported} (load it with AutoModelForSequenceClassification.from_pretrained)")
        if push_to_hub:
            typer.echo(f"uploaded to {push_to_hub}: {upload(exported, push_to_hub, private=private)}")
    except USER_ERRORS as error:
        fail(error)


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit export` to the CLI."""
    app.command("export")(export_command)
