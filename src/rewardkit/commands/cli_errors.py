"""How the CLI reports failures: what the user or the machine caused (a bad spec, file or path, a full disk, memory
running out) is one line on stderr naming the path and what to do, and a non-zero exit; anything else is a bug and
keeps its traceback. `--debug` prints the traceback of either; `--verbose` logs it."""

from __future__ import annotations

import logging
import traceback
from typing import NoReturn

import typer

from rewardkit.errors import ModelNotFoundError
from rewardkit.machine_errors import MachineError, explain_os_error

logger = logging.getLogger(__name__)

# What a user can cause with a bad spec, file or path, or the machine with a full disk or too little memory; anything
# else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, ModelNotFoundError, MachineError)


class DebugSwitch:
    """Whether `--debug` asked for tracebacks of user and machine errors too."""

    enabled = False


def fail(error: Exception, code: int = 1) -> NoReturn:
    """Print the error as one line (with its traceback under --debug) and exit with `code`."""
    logger.debug("error details", exc_info=error)
    if DebugSwitch.enabled:
        traceback.print_exception(error)
    typer.echo(f"error: {one_line(error)}", err=True)
    raise typer.Exit(code=code)


def one_line(error: Exception) -> str:
    """The error's message on one line; an OSError says which path and what to do about it."""
    if isinstance(error, OSError) and error.errno is not None:
        return explain_os_error(error)
    return " ".join(str(error).split()) or type(error).__name__
