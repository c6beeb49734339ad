"""Checking a lesson's anchors against today's files, and the script with moved anchors relocated."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from lessongen.script.assemble import Script, chapter_headings
from lessongen.script.locate import AnchorState, FileLines, Found, locate
from lessongen.script.scenes import Anchor
from lessongen.shared.escaping import one_line
from lessongen.shared.text import plural

# A file's lines as the run sent them (redacted=True: secrets replaced as the run replaced them); None if unreadable.
ReadFile = Callable[[str, bool], FileLines | None]
Others = Callable[[], Mapping[str, FileLines]]


@dataclass(frozen=True)
class AnchorCheck:
    """One anchor of the lesson and what became of its lines."""

    chapter: int  # index into Script.chapters
    scene: int  # index into the chapter's scenes
    index: int  # index into the scene's anchors
    heading: str  # 'Introduction', 'Chapter 2': how readers name the chapter
    scene_id: str
    anchor: Anchor
    found: Found


@dataclass(frozen=True)
class CheckReport:
    """Every anchor of a lesson, checked."""

    checks: tuple[AnchorCheck, ...]

    def count(self, state: AnchorState) -> int:
        """How many anchors are in `state`."""
        return sum(1 for c in self.checks if c.found.state is state)

    @property
    def stale(self) -> bool:
        """Whether any anchor no longer shows the lines the lesson was written about."""
        return any(c.found.state.stale for c in self.checks)

    @property
    def unfixable(self) -> bool:
        """Whether some anchor's lines changed or went: only a new run (--update) brings the lesson up to date."""
        return any(c.found.state.stale and c.found.state is not AnchorState.MOVED for c in self.checks)

    @property
    def fixable(self) -> tuple[AnchorCheck, ...]:
        """The anchors --fix relocates: the moved ones."""
        return tuple(c for c in self.checks if c.found.state is AnchorState.MOVED)


def _settled(found: Found) -> bool:
    return found.state in (AnchorState.OK, AnchorState.MOVED, AnchorState.UNPINNED)


def check_anchor(anchor: Anchor, read: ReadFile, others: Others) -> Found:
    """What became of one anchor: its own file as read, then as redacted, then the other files."""
    if anchor.pin is None:
        return Found(AnchorState.UNPINNED)
    own = read(anchor.path, False)
    if own is None:
        return locate(anchor, None, others)
    found = locate(anchor, own)
    if _settled(found):
        return found
    redacted = read(anchor.path, True)  # a line with a secret was pinned as the run sent it: redacted
    if redacted is not None and redacted.lines != own.lines:
        again = locate(anchor, redacted)
        if _settled(again):
            return again
    return locate(anchor, own, others)


def check_script(script: Script, read: ReadFile, others: Others) -> CheckReport:
    """Every anchor of the script checked; a file is read once, `others` asked for once, and only if needed."""
    cache: dict[tuple[str, bool], FileLines | None] = {}
    pool: list[Mapping[str, FileLines]] = []

    def cached(path: str, redacted: bool) -> FileLines | None:
        if (path, redacted) not in cache:
            cache[path, redacted] = read(path, redacted)
        return cache[path, redacted]

    def every_file() -> Mapping[str, FileLines]:
        if not pool:
            pool.append(others())
        return pool[0]

    checks: list[AnchorCheck] = []
    headings = chapter_headings(script.chapters)
    for c, chapter in enumerate(script.chapters):
        for s, scene in enumerate(chapter.scenes):
            for i, anchor in enumerate(scene.anchors):
                found = check_anchor(anchor, cached, every_file)
                checks.append(AnchorCheck(c, s, i, headings[c], scene.id, anchor, found))
    return CheckReport(tuple(checks))


def relocated(script: Script, report: CheckReport) -> Script:
    """The script with every moved anchor at its new place (and pinned there); nothing else changes."""
    moves = {(m.chapter, m.scene, m.index): m.found.anchor for m in report.fixable}
    chapters = []
    for c, chapter in enumerate(script.chapters):
        scenes = []
        for s, scene in enumerate(chapter.scenes):
            anchors = tuple(moves.get((c, s, i)) or a for i, a in enumerate(scene.anchors))
            kept = {a.path for a in anchors}
            pairs = zip(scene.anchors, anchors, strict=True)
            renamed = {old.path: new.path for old, new in pairs if old.path not in kept}
            files = tuple(dict.fromkeys(renamed.get(f, f) for f in scene.files))
            scenes.append(replace(scene, anchors=anchors, files=files))
        chapters.append(replace(chapter, scenes=tuple(scenes)))
    return replace(script, chapters=tuple(chapters))


def _place(anchor: Anchor | None) -> dict[str, Any] | None:
    if anchor is None:
        return None
    return {"path": anchor.path, "start_line": anchor.start_line, "end_line": anchor.end_line}


def report_json(report: CheckReport, fixed: bool = False) -> dict[str, Any]:
    """The report as `lessongen check --json` prints it."""
    counts = Counter(c.found.state for c in report.checks)
    return {
        "stale": report.unfixable if fixed else report.stale,
        "fixed": fixed,
        "counts": {state.value: counts.get(state, 0) for state in AnchorState},
        "anchors": [
            {
                "chapter": c.heading,
                "scene": c.scene_id,
                **(_place(c.anchor) or {}),
                "state": c.found.state.value,
                "now": _place(c.found.anchor) if c.found.state is not AnchorState.OK else None,
                "likeness": c.found.likeness,
            }
            for c in report.checks
        ],
    }


def _where(anchor: Anchor) -> str:
    return f"{one_line(anchor.path)}:{anchor.start_line}-{anchor.end_line}"


def _line(check: AnchorCheck) -> str:
    found, state = check.found, check.found.state
    what = f"{state.value:<12} {one_line(check.heading)} / {one_line(check.scene_id)}: {_where(check.anchor)}"
    if state is AnchorState.MOVED and found.anchor is not None:
        return f"{what} -> {_where(found.anchor)}"
    if state is AnchorState.CHANGED and found.anchor is not None:
        return f"{what} ({found.likeness:.0%} of its lines left, now about {_where(found.anchor)})"
    return what


def report_lines(report: CheckReport, fixed: bool = False) -> list[str]:
    """The report for people: a count per state, then a line per anchor that is not ok."""
    counts = ", ".join(
        f"{report.count(s):,} {s.value}" for s in AnchorState if report.count(s) or s is AnchorState.OK
    )
    lines = [f"{len(report.checks):,} anchors: {counts}"]
    lines += [_line(c) for c in report.checks if c.found.state is not AnchorState.OK]
    if report.count(AnchorState.UNPINNED):
        lines.append("unpinned anchors come from a lesson written before pins: a new run pins them")
    if fixed and report.fixable:
        lines.append(f"relocated {plural(len(report.fixable), 'moved anchor')} in the lesson's files")
    elif report.fixable:
        lines.append("moved anchors: lessongen check --fix relocates them in the lesson's files")
    if report.unfixable:
        lines.append("changed or gone code: lessongen run --update writes those chapters again")
    return lines
