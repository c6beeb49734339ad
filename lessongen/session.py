"""Bookkeeping of one live run: what it depends on, output safety, resume checks, and the script."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from lessongen.conversation.dry_run import Plan, Replay
from lessongen.conversation.history import CallKind
from lessongen.conversation.journal import Journal, refused_changes, setting_changes
from lessongen.conversation.ledger import LedgerEntry
from lessongen.conversation.lesson_record import REDO_HINT, made_with, read_previous, save_record
from lessongen.conversation.live_run import Conversation
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.replay import replayable
from lessongen.conversation.reuse import Redo, check_same_run, decide
from lessongen.errors import OutputError, UsageError
from lessongen.script.anchors import check_chapters, uncovered_files
from lessongen.script.assemble import SCHEMA_VERSION, Script, chapter_headings
from lessongen.script.outputs import existing_outputs, remove_outputs
from lessongen.script.pins import pin_chapters
from lessongen.script.reader import ScriptFormatError, script_from_json
from lessongen.shared.storage import output_dir, read_json
from lessongen.shared.text import plural


def manifest(prepared: Prepared) -> dict[str, Any]:
    """What a run depends on: a resumed run must find all of it unchanged."""
    s = prepared.settings
    prompts = json.dumps(dict(prepared.composer.prompts.templates), sort_keys=True)
    return {
        "schema_version": SCHEMA_VERSION,
        # What answered, as used (a local GGUF, or a server's URL) and the model's own name: a resume
        # must not mix answers from two models into one lesson.
        "backend": prepared.backend.where,
        "model": prepared.model.name,
        "repository": str(prepared.scan.root),
        "prompts": hashlib.sha256(prompts.encode()).hexdigest()[:16],
        "settings": {
            **asdict(s.history),  # every history setting changes the calls, so all of them count
            "context_window": prepared.model.context_window,
            "include": list(s.walk.include),
            "secrets": s.walk.secrets.value,
            "exclude": list(s.walk.exclude),
        },
        "batch_budget": prepared.budget,  # with the files, it fixes the batches
        "files": {p.path: p.digest for p in prepared.parts},
    }


def open_journal(journal: Journal, prepared: Prepared, resume: bool, force: bool) -> list[str]:
    """The output-safety and resume checks on a locked journal; nothing is sent before this."""
    folder = journal.folder.parent
    notes: list[str] = []
    current = manifest(prepared)
    if force:
        remove_outputs(folder)  # first: if the folder is read-only, the paid answers are still there
        journal.clear()
    elif prepared.reuse is not None:
        asked = len(prepared.reuse.asked)
        notes.append(
            f"updating the lesson in {folder}: {len(prepared.reuse.chapters)} chapters reused, {asked} asked"
        )
    elif resume and journal.exists():
        saved = journal.manifest()
        refused = refused_changes(saved, current)
        if refused:
            raise UsageError(
                "cannot resume: " + "; ".join(refused),
                "undo the change, or pass --force to start over (answers already paid for are discarded)",
            )
        # Answers are found by request, so a changed setting costs only the calls it changed.
        replayed, saved_count = replayable(prepared, journal), journal.saved_count()
        changes = setting_changes(saved, current)
        reuse = f"{plural(replayed, 'call')} replayed from {saved_count} saved answers, not paid again"
        if changes:
            notes.append("resuming with " + "; ".join(changes) + f": {reuse}")
        else:
            notes.append(f"resuming: {reuse}")
    elif resume:
        notes.append(f"nothing to resume in {folder}: starting a new run")
    elif journal.exists() or existing_outputs(folder):
        raise OutputError(
            f"{folder} already holds a lesson or a saved run",
            "pass --resume to continue it, --force to start over, or --output for another folder",
        )
    journal.start(current)  # what the saved answers now belong to (they are found by request, not by run)
    return notes


def saved_replay(prepared: Prepared) -> Replay | None:
    """What a resume would replay from the saved run in the output folder; None when there is none,
    or a resume would refuse it (another model, backend, repository or files), or the plan left
    unchanged files unread (the requests cannot be rebuilt without them)."""
    if any(part.unread for batch in prepared.batches for part in batch.parts):
        return None
    journal = Journal(output_dir(prepared.settings))
    try:
        if not journal.exists() or refused_changes(journal.manifest(), manifest(prepared)):
            return None
    except (OutputError, OSError):
        return None  # a damaged or unreadable saved run replays nothing (the live run says why)
    return Replay(replayable(prepared, journal), journal.saved_count())


def with_reuse(prepared: Prepared, redo: Redo) -> Prepared:
    """An update or a redo: the chapters of the lesson in the output folder that this run reuses."""
    folder = output_dir(prepared.settings)
    if not (folder / "script.json").is_file():
        if redo != Redo():
            raise UsageError(
                f"--redo: {folder} holds no lesson", "run without --redo first, or pass --output"
            )
        note = f"nothing to update in {folder}: a new lesson is made"
        return replace(prepared, notes=(*prepared.notes, note))
    try:
        script = script_from_json(read_json(folder / "script.json"))
    except (OutputError, ScriptFormatError) as exc:
        reason = exc.message if isinstance(exc, OutputError) else str(exc)
        raise UsageError(f"the lesson in {folder} cannot be read ({reason})", REDO_HINT) from None
    previous = read_previous(folder, script.chapters, chapter_headings(script.chapters), script.complete)
    check_same_run(previous.made_with, made_with(manifest(prepared)))
    return replace(prepared, reuse=decide(previous, prepared.batches, prepared.composer, redo))


def record_lesson(folder: Path, prepared: Prepared, chat: Conversation, script: Script) -> None:
    """Write the record an update or a redo of this lesson starts from."""
    save_record(folder, manifest(prepared), script.chapters, prepared.batches, chat.replies)


def kept_lesson(folder: Path, script: Script, updating: bool = False) -> str:
    """Why the lesson already in `folder` is kept instead of `script`, or "" when `script` may replace it.

    A finished lesson is never replaced by a partial one, nor a partial one by a shorter one; an
    update replaces the lesson only once it is complete.
    """
    if updating:
        if script.complete:
            return ""
        return f"the lesson in {folder} is kept as it was: the update stopped before it was complete"
    try:
        old = read_json(folder / "script.json")
    except OutputError:
        return ""  # missing or damaged: nothing worth keeping
    if not isinstance(old, dict) or not isinstance(old.get("chapters"), list):
        return ""
    old_rank = (old.get("complete") is True, len(old["chapters"]))
    if old_rank <= (script.complete, len(script.chapters)):
        return ""
    shown = "finished lesson" if old_rank[0] else f"partial lesson of {old_rank[1]} chapters"
    return f"the {shown} in {folder} is kept: this run stopped with less, and wrote nothing over it"


def deviations(plan: Plan, entries: tuple[LedgerEntry, ...], ratio_note: str) -> tuple[str, ...]:
    """How the calls made differ from the plan's (repairs, other summary points)."""
    planned = [c.label for c in plan.calls]
    made = [e.label for e in entries if e.kind is not CallKind.REPAIR]
    found: list[str] = []
    repairs = sum(1 for e in entries if e.kind is CallKind.REPAIR)
    if repairs:
        found.append(f"{repairs} repair turn(s) for unusable replies")
    differ = next((i for i, (p, m) in enumerate(zip(planned, made, strict=False)) if p != m), None)
    if differ is None and len(made) > len(planned):
        differ = len(planned)
    if differ is not None:
        expected = planned[differ] if differ < len(planned) else "no call"
        found.append(
            f"calls differ from the plan from call {differ + 1} on: planned {expected}, made {made[differ]} "
            f"({len(made)} made, {len(planned)} planned; the replies' sizes moved the summary points)"
        )
    if ratio_note:
        found.append(ratio_note)
    return tuple(found)


def assemble(prepared: Prepared, chat: Conversation, complete: bool) -> Script:
    """The script in lesson order with anchors checked against the files."""
    # The intro (batch 0) opens the lesson, then the chapters in batch order.
    ordered = sorted(chat.chapters.values(), key=lambda c: c.batch)
    line_counts = {f.path: f.line_count for f in prepared.scan.files}
    checked, issues = check_chapters(ordered, line_counts)
    checked = pin_chapters(checked, {f.path: f.text for f in prepared.scan.files})  # as sent: redacted
    # A stopped run lists what it has not reached yet too: the files still to be covered.
    uncovered = uncovered_files(checked, [p.path for p in prepared.parts])
    return Script(f"{prepared.scan.root.name}: a guided tour", checked, issues, uncovered, complete)
