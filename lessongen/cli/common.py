"""What every command shares: settings from flags, and failures as one line with an exit code."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import typer

from lessongen.config.flags import Flags
from lessongen.config.settings import Settings, resolve_settings
from lessongen.errors import ExitCode, LessongenError
from lessongen.ui.terminal import error, make_console


def settings_for(repo: Path, config: Path | None, flags: Flags) -> Settings:
    """The settings of one command: defaults < config file < environment < flags."""
    return resolve_settings(repo, flags.settings(), os.environ, config)


def guard(action: Callable[[], None]) -> None:
    """Run a command's body; a lessongen failure or Ctrl-C becomes one line on stderr and its exit code."""
    try:
        action()
    except LessongenError as exc:
        error(make_console(stderr=True), exc.one_line())
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        error(make_console(stderr=True), "interrupted (rerun with --resume to continue a live run)")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None
