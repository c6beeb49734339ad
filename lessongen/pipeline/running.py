"""Plan -> lesson: the live run against the model, then the script, the ledger and the renderings on disk."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessongen.conversation.dry_run import Plan
from lessongen.conversation.journal import Journal
from lessongen.conversation.ledger import LedgerEntry, estimate_ratio
from lessongen.conversation.live_run import Conversation, Runner, RunObserver
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.replies import learned, rest_of_run
from lessongen.errors import InterruptedRun, LessongenError, OutputError, QualityError
from lessongen.models.seam import ChatModel
from lessongen.render.base import Lesson
from lessongen.render.registry import render_lesson
from lessongen.render.source import repository_record
from lessongen.repo.origin import git_origin
from lessongen.script.assemble import Script
from lessongen.script.outputs import run_report, write_outputs
from lessongen.script.quality import gate_failure, measure
from lessongen.session import assemble, deviations, kept_lesson, open_journal, record_lesson
from lessongen.shared.storage import output_dir


@dataclass(frozen=True)
class RunOutcome:
    """What a live run produced, and why it stopped early if it did."""

    plan: Plan
    script: Script
    entries: tuple[LedgerEntry, ...]
    outputs: tuple[Path, ...]
    deviations: tuple[str, ...]
    notes: tuple[str, ...]
    stopped: LessongenError | None
    report: dict[str, Any]  # what run.json holds
    gate: QualityError | None = None  # a strict run that finished with a lesson below the gate


def execute(
    prepared: Prepared,
    plan: Plan,
    model: ChatModel,
    observer: RunObserver,
    resume: bool,
    force: bool,
    server: str,
) -> RunOutcome:
    """The live run: every planned call against the model, then the script on disk."""
    folder = output_dir(prepared.settings)
    if folder.exists() and not folder.is_dir():  # before anything is saved: nothing to resume
        raise OutputError(f"--output {folder} is a file, not a folder", "pass a folder for the lesson")
    journal = Journal(folder)
    with journal.locked():  # held until the outputs are written: one run per output folder at a time
        notes = open_journal(journal, prepared, resume, force)
        for note in notes:
            observer.note(note)
        chat, stopped = _converse(prepared, model, journal, observer)
        for note in journal.damaged:
            observer.note(note)
            notes.append(note)
        return _finish(prepared, plan, chat, stopped, notes, observer, server)


def _converse(
    prepared: Prepared, model: ChatModel, journal: Journal, observer: RunObserver
) -> tuple[Conversation, LessongenError | None]:
    """Every planned call, until the last or the first that stops the run (a cap, a failure, Ctrl-C)."""
    runner = Runner(prepared, model, journal, observer)
    try:
        runner.run()
    except LessongenError as exc:
        return runner.chat, exc
    except KeyboardInterrupt:
        return runner.chat, InterruptedRun("interrupted", "rerun the same command with --resume to continue")
    return runner.chat, None


def _finish(
    prepared: Prepared,
    plan: Plan,
    chat: Conversation,
    stopped: LessongenError | None,
    notes: list[str],
    observer: RunObserver,
    server: str,
) -> RunOutcome:
    """The script, run.json and the renderings from what the conversation answered."""
    script = assemble(prepared, chat, complete=stopped is None)
    folder = output_dir(prepared.settings)
    kept = kept_lesson(folder, script, updating=prepared.reuse is not None)
    if kept:
        observer.note(kept)
        notes.append(kept)
    entries = tuple(chat.entries)
    ratio = estimate_ratio(entries)  # the rule the run's pre-flight checks scaled by
    ratio_note = (
        f"the server counts up to {ratio:.2f}x our estimate; pre-flight checks were scaled"
        if ratio > 1.01
        else ""
    )
    found = deviations(plan, entries, ratio_note)
    report = run_report(
        plan,
        entries,
        script,
        found,
        [*prepared.notes, *notes, *chat.notes],
        stopped.one_line() if stopped else None,
        server,
    )
    report["reply_sizes"] = learned(chat.state).as_json()  # what the next plan of this folder assumes
    report["rest"] = rest_of_run(prepared, chat.state, stopped is None)
    origin = git_origin(prepared.settings.repo)
    report["repository"] = repository_record(prepared.settings.repo, origin)
    report["update"] = prepared.reuse.as_json() if prepared.reuse is not None else None
    gate = prepared.settings.gate
    quality = measure(script)
    failure = gate_failure(quality, gate.max_dropped_anchors)
    report["quality"] = {**quality.as_json(), "strict": gate.strict, "gate_failure": failure or None}
    sources = {f.path: f.text for f in prepared.scan.files}  # as sent: secrets already redacted
    outputs: list[Path] = []
    if not kept:  # a better lesson already there keeps its script, ledger and renderings together
        outputs = write_outputs(folder, script, sources, report)
        record_lesson(folder, prepared, chat, script)
        outputs += render_lesson(Lesson(script, sources, origin), prepared.settings.render.formats, folder)
    failed = (
        QualityError(
            f"the lesson fails the quality gate: {failure}",
            "see script.md; rerun without --strict to accept it",
        )
        if gate.strict and failure and stopped is None
        else None
    )
    return RunOutcome(
        plan, script, entries, tuple(outputs), found, tuple(chat.notes), stopped, report, failed
    )
