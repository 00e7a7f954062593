"""The `evident` command line. It parses flags, calls App service functions, prints.

One module per group of commands; importing them registers their commands on `cli`.
"""

from __future__ import annotations

import sys

import typer

# Importing a module registers its commands; `evident --help` lists them in this order.
# isort: off
from evident.cli import library, answers, review, server, evals, operations, models  # noqa: F401

# isort: on
from evident.cli.common import cli, err, state
from evident.errors import EvidentError

__all__ = ["cli", "main"]


def main() -> None:
    """Entry point: run the CLI, turning evident errors into one line and exit status 1."""
    try:
        code = cli(standalone_mode=False)
        # click returns the exit code instead of raising it when not standalone.
        sys.exit(code if isinstance(code, int) else 0)
    except EvidentError as exc:
        if state.debug:
            raise
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # usage errors arrive here in non-standalone mode
        # typer >= 0.29 vendors click as typer._click: its usage errors derive from
        # typer.TyperException, not from click's classes.
        import click

        show = getattr(exc, "show", None)
        if isinstance(exc, typer.TyperException | click.ClickException) and callable(show):
            show()
            sys.exit(int(getattr(exc, "exit_code", 2)))
        if isinstance(exc, typer.Abort | click.exceptions.Abort):
            sys.exit(130)
        raise
