"""What every command shares: settings from flags, and failures as one line with an exit code."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from lessongen.config.flags import Flags
from lessongen.errors import ExitCode, LessongenError

if TYPE_CHECKING:
    from lessongen.config.settings import Settings


def settings_for(repo: Path, config: Path | None, flags: Flags) -> Settings:
    """The settings of one command: defaults < config file < environment < flags."""
    from lessongen.config.settings import resolve_settings  # imported when a command runs (not for --help)

    return resolve_settings(repo, flags.settings(), os.environ, config)


def guard(action: Callable[[], None]) -> None:
    """Run a command's body; a lessongen failure or Ctrl-C becomes one line on stderr and its exit code."""
    try:
        action()
    except LessongenError as exc:
        _error(exc.one_line())
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        _error("interrupted (rerun with --resume to continue a live run)")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _error(message: str) -> None:
    from lessongen.ui.terminal import error, make_console  # rich, imported only to say something

    error(make_console(stderr=True), message)
