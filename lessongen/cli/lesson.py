"""`run` and `plan`: the commands; what they do is in cli/drive.py, imported only when one runs."""

from __future__ import annotations

from pathlib import Path

from lessongen.cli.common import guard
from lessongen.cli.options import LessonOptions


def run(repo: Path, options: LessonOptions) -> None:
    """Write the lesson: plan, then drive one growing chat with the model (or only plan with --dry-run)."""
    from lessongen.cli.drive import invoke  # the pipeline, imported when a command runs (not for --help)

    guard(lambda: invoke(repo, options, dry_run=options.dry_run))


def plan(repo: Path, options: LessonOptions) -> None:
    """Show what a run would send, what is left out and why, every call's size, and the cost."""
    from lessongen.cli.drive import invoke

    guard(lambda: invoke(repo, options, dry_run=True))
