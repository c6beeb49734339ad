"""The command line: parse, delegate to the pipeline, render. Nothing else happens here."""

from __future__ import annotations

from typing import Annotated

import typer

from lessongen import __version__
from lessongen.cli.check import check
from lessongen.cli.lesson import PLAN_HELP, run
from lessongen.cli.options import PlanCommand
from lessongen.cli.tools import models, render

app = typer.Typer(
    name="lessongen",
    help="Turn a source repository into a lesson script, one growing chat with a model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Plain click help: it wraps descriptions and never cuts a flag's name, at any terminal width.
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lessongen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """lessongen: a lesson script from a source repository."""


app.command()(run)
app.command("plan", cls=PlanCommand, help=PLAN_HELP)(run)
app.command()(models)
app.command()(render)
app.command()(check)


def main() -> None:
    """Console-script entry point."""
    app()
