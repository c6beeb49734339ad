"""The record of a written lesson: which batch each chapter of script.json answers, and its answer as the chat held it.

It lives in the state folder as `lesson.json` and is written with the lesson, so an update or a redo can
reuse every chapter whose batch is unchanged as the conversation's history.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessongen.errors import OutputError, UsageError
from lessongen.script.scenes import Chapter
from lessongen.shared.data import Batch, content_digest
from lessongen.shared.layout import STATE_DIR
from lessongen.shared.storage import read_json, write_json

RECORD_FILE = f"{STATE_DIR}/lesson.json"
_VERSION = 1
REDO_HINT = "pass --force to start over: every chapter is paid for again"


def batch_digest(batch: Batch) -> str:
    """What identifies a batch across runs: its parts' paths, content digests and line ranges."""
    parts = [[p.path, p.digest, p.part, p.parts, p.start_line, p.end_line] for p in batch.parts]
    return content_digest(json.dumps(parts, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@dataclass(frozen=True)
class RecordedChapter:
    """One chapter of the written lesson as the record knows it."""

    source: str  # as script.json names it: the record and the script are checked against each other
    digest: str | None  # the batch's digest; None for the introduction
    paths: tuple[str, ...]
    reply: str  # the answer as it entered the conversation


@dataclass(frozen=True)
class PreviousLesson:
    """The lesson in the output folder: its chapters (as script.json holds them) and their record."""

    chapters: tuple[Chapter, ...]
    records: tuple[RecordedChapter, ...]  # one per chapter, in the same order
    headings: tuple[str, ...]  # 'Introduction', 'Chapter 1', ... as the lesson shows them
    made_with: Mapping[str, Any]  # what the lesson was made with (the run's manifest without its files)
    complete: bool


def made_with(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a run's manifest that must match for its chapters to be reused: all but the files."""
    return {key: value for key, value in manifest.items() if key != "files"}


def save_record(
    folder: Path,
    manifest: Mapping[str, Any],
    chapters: Sequence[Chapter],
    batches: Sequence[Batch],
    replies: Mapping[int, str],
) -> None:
    """Write the record of the lesson just written (its chapters in script.json's order)."""
    entries = []
    for chapter in chapters:
        batch = batches[chapter.batch - 1] if chapter.batch else None
        entries.append(
            {
                "source": chapter.source,
                "batch": batch_digest(batch) if batch else None,
                "paths": list(batch.paths) if batch else [],
                "reply": replies.get(chapter.batch, ""),
            }
        )
    write_json(
        folder / RECORD_FILE, {"version": _VERSION, "made_with": made_with(manifest), "chapters": entries}
    )


def _recorded(raw: object) -> RecordedChapter:
    if not isinstance(raw, dict):
        raise ValueError("a chapter entry is not an object")
    source, digest, paths, reply = (raw.get(k) for k in ("source", "batch", "paths", "reply"))
    if not isinstance(source, str) or not isinstance(reply, str) or not isinstance(paths, list):
        raise ValueError("a chapter entry lacks its source, paths or reply")
    if digest is not None and not isinstance(digest, str):
        raise ValueError("a chapter's batch digest is not a text")
    return RecordedChapter(source, digest, tuple(str(p) for p in paths), reply)


def recorded_batches(folder: Path) -> tuple[tuple[str, ...], ...]:
    """The paths of each batch of the lesson in `folder`, in its order; () without a readable record
    (an update then packs afresh, and `read_previous` says why the lesson cannot be reused)."""
    if not (folder / "script.json").is_file() or not (folder / RECORD_FILE).is_file():
        return ()
    try:
        data = read_json(folder / RECORD_FILE)
        chapters = data.get("chapters") if isinstance(data, dict) else None
        records = [_recorded(c) for c in chapters] if isinstance(chapters, list) else []
    except (OutputError, ValueError):
        return ()
    return tuple(r.paths for r in records if r.digest is not None)


def read_previous(
    folder: Path, chapters: Sequence[Chapter], headings: Sequence[str], complete: bool
) -> PreviousLesson:
    """The lesson in `folder` (its chapters as script.json holds them, read by the caller) with its record.

    A lesson without a matching record (made by an older version, or edited by hand) is refused:
    nothing would say which batch each chapter answers.
    """
    if not (folder / RECORD_FILE).is_file():
        raise UsageError(
            f"the lesson in {folder} has no record of its batches (made by an older lessongen)", REDO_HINT
        )
    try:
        data = read_json(folder / RECORD_FILE)
        if not isinstance(data, dict) or data.get("version") != _VERSION:
            raise ValueError(f"not a version {_VERSION} record")
        chapters_raw, made = data.get("chapters"), data.get("made_with")
        if not isinstance(chapters_raw, list) or not isinstance(made, dict):
            raise ValueError("its chapters or settings are missing")
        records = tuple(_recorded(c) for c in chapters_raw)
    except (OutputError, ValueError) as exc:
        reason = exc.message if isinstance(exc, OutputError) else str(exc)
        raise UsageError(f"the record of the lesson in {folder} is damaged ({reason})", REDO_HINT) from None
    if tuple(r.source for r in records) != tuple(c.source for c in chapters):
        raise UsageError(
            f"the lesson in {folder} does not match its record (was script.json replaced?)", REDO_HINT
        )
    return PreviousLesson(tuple(chapters), records, tuple(headings), made, complete)
