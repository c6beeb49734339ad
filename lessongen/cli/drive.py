"""What `run` and `plan` do: a lesson planned through the pipeline, then written with the model (or only planned)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from lessongen.cli.common import settings_for
from lessongen.cli.options import LessonOptions
from lessongen.config.settings import Settings
from lessongen.conversation.dry_run import Plan, Verdict
from lessongen.conversation.plan_report import plan_report
from lessongen.conversation.reuse import Redo
from lessongen.errors import ExitCode, UsageError
from lessongen.pipeline import build_plan, execute, plan_advice, prepare
from lessongen.repo.reading import Reading
from lessongen.shared.storage import output_dir
from lessongen.ui.live import make_observer
from lessongen.ui.plan import render_plan
from lessongen.ui.reports import render_run, render_update
from lessongen.ui.terminal import error, make_console

_VERDICT_EXIT = {
    Verdict.FITS: ExitCode.OK,
    Verdict.DOES_NOT_FIT: ExitCode.DOES_NOT_FIT,
    Verdict.OVER_BUDGET: ExitCode.OVER_BUDGET,
    Verdict.NOTHING_TO_SEND: ExitCode.USAGE,
}


def _redo(options: LessonOptions) -> Redo | None:
    """--update and --redo as what to ask again besides what changed (None: a run of the whole lesson)."""
    if not options.update and not options.redo:
        return None
    if options.resume or options.force:
        raise UsageError(
            f"--update and --redo cannot be used with --{'resume' if options.resume else 'force'}",
            "rerun the same --update or --redo to continue it; --force alone starts over",
        )
    words = [value.strip().lower() for value in options.redo or ()]
    for word in words:
        if not word.isdigit() and word not in ("flagged", "intro"):
            raise UsageError(f"--redo {word}: not a chapter", "pass flagged, intro or a chapter number")
    chapters = tuple(int(word) for word in words if word.isdigit())
    return Redo(flagged="flagged" in words, chapters=chapters, intro="intro" in words)


def invoke(repo: Path, options: LessonOptions) -> None:
    """Check the options, resolve the settings, then plan (--dry-run, or `plan`) or run."""
    if options.resume and options.force:  # --force would silently discard the answers --resume means to reuse
        raise UsageError("--resume and --force contradict each other", "pass one of them")
    redo = _redo(options)
    settings = settings_for(repo, options.config, options.flags)
    if options.dry_run:
        _plan(settings, options.as_json, options.list_skipped, redo, options.resume)
    else:
        _live(settings, options, redo)


def _show_plan(plan: Plan, as_json: bool, list_skipped: bool) -> None:
    advice = plan_advice(plan)
    if as_json:
        typer.echo(json.dumps({**plan_report(plan), **advice.as_json()}, indent=2))
    else:
        render_plan(make_console(), plan, advice, list_skipped=list_skipped)
    code = _VERDICT_EXIT[plan.verdict]
    if code is not ExitCode.OK:
        # stdout holds the whole plan (perhaps JSON for a tool); a CI log needs the reason on stderr too.
        error(make_console(stderr=True), f"verdict {plan.verdict.value}: {plan.reason}")
        raise typer.Exit(int(code))


def _plan(settings: Settings, as_json: bool, list_skipped: bool, redo: Redo | None, resume: bool) -> None:
    # Unchanged files are left unread, but a dry run of a resume reads them: it counts the replays.
    reading = Reading.EVERY_FILE if resume else Reading.CHANGED_FILES
    prepared = prepare(settings, resume=resume, redo=redo, reading=reading)
    notes = make_console(stderr=True)
    for note in prepared.notes:
        notes.print(f"note: {note}", soft_wrap=True)
    _show_plan(build_plan(prepared), as_json, list_skipped)


def _live(settings: Settings, options: LessonOptions, redo: Redo | None) -> None:
    prepared = prepare(settings, resume=options.resume, redo=redo)
    plan = build_plan(prepared)
    if plan.verdict is not Verdict.FITS:
        _show_plan(plan, as_json=options.as_json, list_skipped=options.list_skipped)
    if prepared.reuse is not None:
        render_update(make_console(stderr=True), prepared.reuse, output_dir(settings))
        if prepared.reuse.up_to_date:
            return  # nothing to ask: the lesson stays as it is, and nothing is written
    backend = prepared.backend
    model = backend.open_model()
    progress = make_console(stderr=True)
    observer = make_observer(progress, prepared.model.context_window, plan.calls)
    for note in prepared.notes:
        observer.note(note)
    try:
        outcome = execute(
            prepared, plan, model, observer, resume=options.resume, force=options.force, server=backend.where
        )
    finally:
        observer.close()
        model.close()
    if options.as_json:
        typer.echo(json.dumps(outcome.report, indent=2))
    else:
        render_run(make_console(), outcome)
    if outcome.stopped is not None:
        raise outcome.stopped
    if outcome.gate is not None:
        raise outcome.gate
