"""The `rewardkit` console script: one typer app, each subcommand group registered from rewardkit.commands."""

from __future__ import annotations

import importlib
import logging
import os

import typer

from rewardkit.cpu_threads import configure_cpu_threads

app = typer.Typer(help="Train, evaluate and serve reward models and LLM judges.", no_args_is_help=True)
train_app = typer.Typer(help="Train a reward model or judge from a recipe.", no_args_is_help=True)
app.add_typer(train_app, name="train")

# Each module defines `register(app, train_app)`; adding a family means adding a module here, nothing else.
COMMAND_MODULES = [
    "rewardkit.commands.eval_cmd",
    "rewardkit.commands.train_bt",
    "rewardkit.commands.train_cloud",
    "rewardkit.commands.train_judges",
    "rewardkit.commands.data_cmd",
    "rewardkit.commands.bon_cmd",
    "rewardkit.commands.generate_cmd",
    "rewardkit.commands.ensemble_cmd",
    "rewardkit.commands.judge_cmd",
    "rewardkit.commands.quickstart_cmd",
    "rewardkit.commands.serve_cmd",
    "rewardkit.commands.export_cmd",
]


def _register_commands() -> None:
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(app, train_app)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log at DEBUG level."),
    debug: bool = typer.Option(False, "--debug", help="Show the traceback of every error, user errors included."),
) -> None:
    from rewardkit.commands.cli_errors import DebugSwitch

    DebugSwitch.enabled = debug
    level = logging.DEBUG if verbose else logging.INFO
    if os.environ.get("RANK", "0") != "0":  # a process of `torchrun` / `accelerate launch` other than the first
        level = logging.WARNING
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    threads, why = configure_cpu_threads()
    logging.getLogger(__name__).debug("torch CPU threads: %d (%s)", threads, why)


_register_commands()

if __name__ == "__main__":
    app()
