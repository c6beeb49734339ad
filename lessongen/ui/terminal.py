"""The terminal: the only module that imports rich (consoles, tables, styled text, live bars)."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.table import Table
from rich.text import Text

__all__ = ["Bar", "Console", "Table", "TaskID", "Text"]


def make_console(stderr: bool = False, file: TextIO | None = None, width: int | None = None) -> Console:
    """A console on stdout or stderr; colour and width follow the terminal (NO_COLOR is honoured)."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    # markup=False: paths, notes and model text are data; "[/bold]" in a file name must print as it is.
    return Console(file=stream, width=width, highlight=False, soft_wrap=False, markup=False)


def error(console: Console, message: str) -> None:
    """One line on stderr."""
    console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)


def is_live(console: Console) -> bool:
    """Whether the console is a terminal that can redraw a bar (not CI, not a dumb terminal)."""
    return console.is_terminal and not console.is_dumb_terminal


def styled(text: str, style: str) -> Text:
    """Text in a style (bold, a colour), printed as it is: no markup is read from it."""
    return Text(text, style=style)


def table(
    title: str, columns: Collection[str], right: Collection[str] = (), fold: Collection[str] = ()
) -> Table:
    """A titled table; `right` columns are right-aligned, `fold` ones wrap instead of being cut."""
    made = Table(title=title, title_justify="left")
    for name in columns:
        made.add_column(
            name,
            justify="right" if name in right else "left",
            overflow="fold" if name in fold else "ellipsis",
        )
    return made


def call_bar(console: Console) -> Bar:
    """The live run's bar: spinner, the call in flight, a bar, call n of M, its figures and the elapsed time."""
    return Bar(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=20),
        TextColumn("call {task.fields[call]}/{task.total}"),
        TextColumn("{task.fields[stats]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


def scene_bar(console: Console) -> Bar:
    """The video's bar over its scenes as they are spoken."""
    return Bar(
        TextColumn("speaking scenes"),
        BarColumn(bar_width=20),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def money(value: float) -> str:
    """Dollars with four decimals under $10, two above."""
    return f"${value:,.4f}" if value < 10 else f"${value:,.2f}"
