"""`rewardkit serve`: any reward model behind HTTP (`/score`, `/compare`, OpenRLHF's `/get_reward`)."""

from __future__ import annotations

from typing import Annotated

import typer

from rewardkit.commands.cli_errors import USER_ERRORS, fail
from rewardkit.families.registry import registered_families


def serve_command(
    model: Annotated[
        str,
        typer.Argument(
            help="Reward model spec: a rewardkit directory, a Hugging Face *ForSequenceClassification reward model "
            f"(directory or Hub id), or one of {', '.join(registered_families())}."
        ),
    ],
    host: Annotated[str, typer.Option(help="Address to listen on (0.0.0.0 for every interface).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port (OpenRLHF's examples use 5000).")] = 5000,
    max_batch_size: Annotated[int, typer.Option(min=1, help="Items per model call at most.")] = 32,
    max_wait_ms: Annotated[float, typer.Option(min=0.0, help="Wait after a first request to gather more, ms.")] = 10.0,
) -> None:
    """Serve MODEL; concurrent requests are micro-batched into one model call. Docs at http://HOST:PORT/docs."""
    from rewardkit.families.registry import load_reward_model
    from rewardkit.serving.micro_batcher import BatchingConfig

    try:
        import uvicorn

        from rewardkit.serving.app import create_app
    except ImportError as error:
        fail(ValueError(f"serving needs the [serve] extra: pip install 'rewardkit[serve]' ({error})"))
    try:
        batching = BatchingConfig(max_batch_size=max_batch_size, max_wait_ms=max_wait_ms)
        reward_model = load_reward_model(model)
    except USER_ERRORS as error:
        fail(error)
    uvicorn.run(create_app(reward_model, batching), host=host, port=port, log_level="info")


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit serve` to the CLI."""
    app.command("serve")(serve_command)
