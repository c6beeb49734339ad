"""Which chapters of the previous lesson a run reuses as history, and which batches it asks again.

One decision serves `run --update` (the batches whose files changed) and `--redo` (the chapters the
user names, or every flagged one). Reused chapters enter the chat as the assistant's earlier answers,
so regenerated chapters still build on what came before; the intro is asked again whenever anything
else is. Pure functions over the previous lesson's record and the current batches.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from lessongen.conversation.compose import Composer, Message
from lessongen.conversation.journal import explain_changes
from lessongen.conversation.lesson_record import PreviousLesson, batch_digest
from lessongen.errors import UsageError
from lessongen.script.scenes import Chapter, Scene
from lessongen.shared.data import Batch

REPAIR_SEPARATOR = "\n\n--- repair attempt ---\n\n"  # how a flagged scene keeps both unusable replies


class Reason(StrEnum):
    """Why a batch is asked again."""

    CHANGED = "changed"  # its files changed (an edit, a rename, a deletion in it)
    NEW = "new"  # its files are new to the lesson
    FLAGGED = "flagged"  # --redo flagged
    CHOSEN = "chosen"  # --redo N
    REMOVED = "removed"  # every scene of its chapter showed files that are gone
    INTRO = "intro"  # the introduction follows whatever else was regenerated


@dataclass(frozen=True)
class Redo:
    """The chapters the user asks again, besides what changed."""

    flagged: bool = False
    chapters: tuple[int, ...] = ()  # 'Chapter N' as the lesson shows it
    intro: bool = False


@dataclass(frozen=True)
class Asked:
    """A batch (0: the intro) asked again, and why."""

    batch: int
    reason: Reason
    paths: tuple[str, ...] = ()


@dataclass(frozen=True)
class Reuse:
    """What a run takes from the previous lesson instead of asking, and what it asks again."""

    replies: Mapping[int, Message]  # by batch number (0: the intro): the answers as the history holds them
    chapters: Mapping[int, Chapter]  # by batch number: the chapters as the lesson shows them
    asked: tuple[Asked, ...]
    dropped: tuple[str, ...] = ()  # previous chapters whose batch is gone, as the lesson named them
    rejected: frozenset[str] = field(default=frozenset())  # answers the user asked again: never replayed

    @property
    def up_to_date(self) -> bool:
        """Nothing to ask: the lesson stands as it is."""
        return not self.asked and not self.dropped

    def as_json(self) -> dict[str, Any]:
        """The `update` block of the plan's JSON and of run.json."""
        return {
            "reused": sorted(b for b in self.chapters if b),
            "intro_reused": 0 in self.chapters,
            "regenerated": [
                {"batch": a.batch, "reason": a.reason.value, "paths": list(a.paths)} for a in self.asked
            ],
            "dropped": list(self.dropped),
        }


def check_same_run(made_with: Mapping[str, Any], current: Mapping[str, Any]) -> None:
    """Refuse to reuse chapters made with another model or other settings: they would not match the rest."""
    # Where the model answered (a server's URL) and where the repository sits may move between runs.
    moved = ("backend", "repository")
    changes = explain_changes(*({k: v for k, v in d.items() if k not in moved} for d in (made_with, current)))
    if made_with.get("batch_budget") != current.get("batch_budget"):
        changes.append(
            f"the batch budget changed ({made_with.get('batch_budget')} -> {current.get('batch_budget')})"
        )
    if changes:
        raise UsageError(
            "cannot update the lesson: " + "; ".join(changes),
            "undo the change, or pass --force to start over: every chapter is paid for again",
        )


def _chosen(previous: PreviousLesson, redo: Redo) -> dict[int, Reason]:
    """Indexes into the previous lesson's chapters the user asks again; a number it lacks is refused."""
    numbers = {h: i for i, h in enumerate(previous.headings)}
    chapters = sum(h != "Introduction" for h in previous.headings)
    chosen = {
        i: Reason.FLAGGED
        for i, c in enumerate(previous.chapters)
        if redo.flagged and any(s.flagged for s in c.scenes)
    }
    for number in redo.chapters:
        index = numbers.get(f"Chapter {number}")
        if index is None:
            valid = f"1-{chapters}, " if chapters else ""
            raise UsageError(
                f"--redo {number}: the lesson has no chapter {number}", f"pass one of {valid}intro or flagged"
            )
        chosen[index] = Reason.CHOSEN
    if redo.intro:
        if "Introduction" not in numbers:
            raise UsageError(
                "--redo intro: the lesson has no introduction", "pass a chapter number or flagged"
            )
        chosen[numbers["Introduction"]] = Reason.CHOSEN
    return chosen


def _present(scene: Scene, paths: set[str]) -> Scene | None:
    """The scene without its anchors and files of removed files; None when it showed nothing else."""
    shown = {a.path for a in scene.anchors} | set(scene.files)
    if shown and not shown & paths:
        return None
    anchors = tuple(a for a in scene.anchors if a.path in paths)
    return replace(scene, anchors=anchors, files=tuple(f for f in scene.files if f in paths))


def _rejected(chapter: Chapter, reply: str) -> set[str]:
    """Every answer that made a chapter the user asks again (a flagged scene keeps both of its replies)."""
    texts = {reply.strip()}
    for scene in chapter.scenes:
        if scene.flagged:
            texts |= {t.strip() for t in scene.narration.split(REPAIR_SEPARATOR.strip())}
    return texts - {""}


def decide(previous: PreviousLesson, batches: Sequence[Batch], composer: Composer, redo: Redo) -> Reuse:
    """Reuse every chapter whose batch is unchanged and not chosen; ask the other batches and the intro."""
    current = {batch_digest(b): b.index + 1 for b in batches}
    paths = {p.path for b in batches for p in b.parts}
    chosen = _chosen(previous, redo)
    replies: dict[int, Message] = {}
    chapters: dict[int, Chapter] = {}
    reasons: dict[int, Reason] = {}
    dropped: list[str] = []
    rejected: set[str] = set()
    for index, (chapter, record) in enumerate(zip(previous.chapters, previous.records, strict=True)):
        number = 0 if record.digest is None else current.get(record.digest)
        if number is None:  # its batch changed (asked again below) or its files are all gone
            if not set(record.paths) & paths:
                dropped.append(previous.headings[index])
            continue
        if index in chosen:
            reasons[number] = chosen[index]
            rejected |= _rejected(chapter, record.reply)
            continue
        scenes = tuple(s for s in (_present(s, paths) for s in chapter.scenes) if s is not None)
        if not scenes:
            reasons[number] = Reason.REMOVED
            continue
        source = "intro" if number == 0 else f"batch {number}"
        chapters[number] = replace(chapter, scenes=scenes, batch=number, source=source)
        replies[number] = composer.reply(record.reply)
    old_paths = {p for r in previous.records for p in r.paths}
    for batch in batches:
        number = batch.index + 1
        if number not in chapters and number not in reasons:
            reasons[number] = Reason.CHANGED if set(batch.paths) & old_paths else Reason.NEW
    if (reasons or dropped or 0 not in chapters) and 0 not in reasons:
        reasons[0] = Reason.INTRO
        chapters.pop(0, None)
        replies.pop(0, None)
    by_number = {b.index + 1: b.paths for b in batches}
    order = sorted(reasons, key=lambda n: n or len(batches) + 1)  # the intro is asked last
    asked = tuple(Asked(n, reasons[n], by_number.get(n, ())) for n in order)
    return Reuse(replies, chapters, asked, tuple(dropped), frozenset(rejected))


_WHY = {
    Reason.CHANGED: "its files changed",
    Reason.NEW: "new files",
    Reason.FLAGGED: "flagged",
    Reason.CHOSEN: "asked with --redo",
    Reason.REMOVED: "the files its scenes showed are gone",
    Reason.INTRO: "it follows what was regenerated",
}


def _ranges(numbers: Sequence[int]) -> str:
    """1, 2, 3, 5 -> '1-3, 5'."""
    spans: list[list[int]] = []
    for n in sorted(numbers):
        if spans and n == spans[-1][1] + 1:
            spans[-1][1] = n
        else:
            spans.append([n, n])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def reuse_listing(reuse: Reuse) -> tuple[str, ...]:
    """Which chapters are reused and which asked again, as the plan and the run print them."""
    reused = [n for n in reuse.chapters if n]
    batches = [a for a in reuse.asked if a.batch]
    head = f"update: {len(reused)} chapters reused, {len(batches)} regenerated"
    head += ", the introduction " + ("reused" if 0 in reuse.chapters else "regenerated")
    lines = [head]
    if reused:
        lines.append(f"  reused:      chapter{'s' if len(reused) > 1 else ''} {_ranges(reused)}")
    for asked in reuse.asked:
        what = f"chapter {asked.batch}" if asked.batch else "the introduction"
        files = (
            f": {', '.join(asked.paths[:3])}{' ...' if len(asked.paths) > 3 else ''}" if asked.paths else ""
        )
        lines.append(f"  regenerated: {what} ({_WHY[asked.reason]}){files}")
    lines += [f"  dropped:     the previous {h} (its files are gone)" for h in reuse.dropped]
    return tuple(lines)
