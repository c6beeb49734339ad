"""`check`: whether a lesson still shows the code it explains; no model call, no key, no network."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lessongen.cli.common import guard, settings_for
from lessongen.cli.options import Config, LessonRepo, Secrets
from lessongen.config.flags import Flags
from lessongen.errors import ExitCode

LessonDir = Annotated[
    Path | None,
    typer.Argument(
        help="The lesson folder lessongen run wrote (default: the output folder, lesson/).",
        show_default=False,
    ),
]
Fix = Annotated[
    bool,
    typer.Option("--fix", help="Rewrite the lesson's files with moved anchors at their new lines."),
]
CheckJson = Annotated[bool, typer.Option("--json", help="Print the report as JSON on stdout (for CI).")]


def check(
    lesson: LessonDir = None,
    repo: LessonRepo = None,
    fix: Fix = False,
    as_json: CheckJson = False,
    secrets: Secrets = None,
    config: Config = None,
) -> None:
    """Check a lesson's code anchors against the repository: exit 8 when code changed or moved."""
    flags = Flags(secrets=secrets)

    def go() -> None:
        # imported when the command runs, so --help and usage errors stay quick
        from lessongen.pipeline.checking import check_lesson
        from lessongen.render.source import recorded_repository
        from lessongen.script.check import report_json, report_lines
        from lessongen.shared.storage import output_dir

        folder = lesson or output_dir(settings_for(repo or Path("."), config, flags))
        recorded = recorded_repository(folder)
        settings = settings_for(repo or recorded.root or Path("."), config, flags)
        outcome = check_lesson(folder, settings, recorded.origin, fix)
        report = outcome.report
        if as_json:
            data = {"lesson": str(folder), "repository": str(settings.repo), **report_json(report, fix)}
            typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
        else:
            typer.echo(f"{folder} against {settings.repo}:")
            for line in report_lines(report, fixed=bool(outcome.written)):
                typer.echo(line)
        if report.unfixable or (report.stale and not outcome.written):
            raise typer.Exit(int(ExitCode.STALE))

    guard(go)
