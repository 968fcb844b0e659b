"""`rewardkit serve`: any reward model behind HTTP, in the shapes RL clients speak, within limits."""

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
    host: Annotated[
        str, typer.Option(help="Address to listen on; any but loopback needs --api-key (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port (OpenRLHF's examples use 5000).")] = 5000,
    api_key: Annotated[
        str | None, typer.Option(envvar="REWARDKIT_API_KEY", help="Key clients must send (Bearer, X-API-Key).")
    ] = None,
    max_batch_size: Annotated[int, typer.Option(min=1, help="Items per model call at most.")] = 32,
    max_wait_ms: Annotated[float, typer.Option(min=0.0, help="Wait after a first request to gather more, ms.")] = 10.0,
    max_queue_items: Annotated[int, typer.Option(min=1, help="Items waiting at most; above, 429.")] = 4096,
    max_body_bytes: Annotated[int, typer.Option(min=1, help="Largest request body, bytes; above, 413.")] = 8 * 2**20,
    max_items: Annotated[int, typer.Option(min=1, help="Most entries in any list of a request; above, 413.")] = 1024,
    max_text_chars: Annotated[int, typer.Option(min=1, help="Longest text, characters; above, 413.")] = 100_000,
    request_timeout_s: Annotated[float, typer.Option(min=0.001, help="Unanswered by then: 503.")] = 60.0,
    read_timeout_s: Annotated[float, typer.Option(min=0.001, help="Time to send headers and body; then 408.")] = 10.0,
    shutdown_timeout_s: Annotated[
        float, typer.Option(min=0.001, help="After SIGTERM, requests still unanswered by then get 503.")
    ] = 30.0,
    max_connections: Annotated[int, typer.Option(min=1, help="Open connections at most; above, 503.")] = 1024,
) -> None:
    """Serve MODEL on every route (rewardkit, OpenRLHF, vLLM, SGLang, OpenAI); concurrent requests share model
    calls. Docs at http://HOST:PORT/docs, metrics at /metrics."""
    from rewardkit.families.registry import load_reward_model
    from rewardkit.serving.auth import require_key_off_loopback
    from rewardkit.serving.limits import ServingLimitsConfig
    from rewardkit.serving.micro_batcher import BatchingConfig

    try:
        from rewardkit.serving.app import create_app
        from rewardkit.serving.server import run_server
    except ImportError as error:
        fail(ValueError(f"serving needs the [serve] extra: pip install 'rewardkit[serve]' ({error})"))
    try:
        require_key_off_loopback(host, api_key)
        batching = BatchingConfig(max_batch_size, max_wait_ms, max_queue_items)
        limits = ServingLimitsConfig(
            max_body_bytes, max_items, max_text_chars, request_timeout_s, read_timeout_s, shutdown_timeout_s
        )
        reward_model = load_reward_model(model)
    except USER_ERRORS as error:
        fail(error)
    if getattr(reward_model, "compiles", False):  # REWARDKIT_COMPILE=on: compile before the first request
        typer.echo(f"{reward_model.name}: compiling the forward before listening (one to two minutes on 2 CPU cores)")
        if compiles_on_cpu(reward_model):
            typer.echo(CPU_COMPILE_NOTE)
        reward_model.warm_up()
    run_server(create_app(reward_model, batching, limits, api_key), host, port, max_connections)


CPU_COMPILE_NOTE = (
    "note: on a CPU the compiled forward is no faster than the eager scorer (measured 1.04x on pairs, 0.86x on a "
    "prompt's several responses; docs/SERVING.md); unset REWARDKIT_COMPILE to skip the compile"
)


def compiles_on_cpu(reward_model) -> bool:
    """Whether the model, or a member of an ensemble, compiles its forward on the CPU."""
    members = getattr(reward_model, "members", None) or [reward_model]
    return any(
        getattr(member, "compiles", False) and getattr(getattr(member, "device", None), "type", "cpu") == "cpu"
        for member in members
    )


def register(app: typer.Typer, train_app: typer.Typer) -> None:
    """Add `rewardkit serve` to the CLI."""
    app.command("serve")(serve_command)
