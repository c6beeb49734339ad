"""The command line: parse, delegate to the pipeline, render. Nothing else happens here."""

from __future__ import annotations

import gc
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
    # A plan keeps a few objects per file until it ends (millions for a large monorepo), and at the
    # collector's default pace (a young collection every 700 allocations, a full one every 100 of those)
    # it walks them again and again for cycles that are not there: 15% of the main process's CPU in a
    # plan of 50,000 files, more in larger ones. The command's own process only (tests drive `app`).
    gc.set_threshold(_YOUNG_COLLECTION_EVERY, 10, 10)
    app()


_YOUNG_COLLECTION_EVERY = 10_000  # allocations (the default is 700); cycles still go, a little later
