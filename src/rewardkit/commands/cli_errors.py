"""How the CLI reports failures: what the user or the machine caused (a bad spec, file or path) is one line on stderr
and a non-zero exit; anything else is a bug and keeps its traceback. `--verbose` logs the details of either."""

from __future__ import annotations

import logging
from typing import NoReturn

import typer

from rewardkit.errors import ModelNotFoundError

logger = logging.getLogger(__name__)

# What a user can cause with a bad spec, file or path; anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, OSError, ModelNotFoundError)


def fail(error: Exception, code: int = 1) -> NoReturn:
    """Print the error without a traceback (shown with --verbose) and exit with `code`."""
    logger.debug("error details", exc_info=error)
    typer.echo(f"error: {error}", err=True)
    raise typer.Exit(code=code)
