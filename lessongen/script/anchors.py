"""Checking the model's code anchors against the real files, repairing the obvious, reporting the rest."""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from lessongen.script.scenes import Anchor, Chapter, Scene


@dataclass(frozen=True)
class AnchorIssue:
    """An anchor that was repaired or dropped, and why."""

    chapter: str
    scene: str
    path: str
    problem: str
    repaired: bool


def _resolve_path(path: str, known: Mapping[str, int]) -> tuple[str | None, str]:
    """The repository path an anchor means, and a note when it had to be guessed; None when it cannot."""
    raw = path.strip().replace("\\", "/")
    if raw in known:
        return raw, ""
    if raw.startswith("/") or ":" in raw.split("/")[0] or ".." in raw.split("/"):
        return None, "path leaves the repository"
    clean = posixpath.normpath(raw.removeprefix("./"))
    if clean in known:
        return clean, f"path {path!r} normalised"
    matches = [p for p in known if p.endswith("/" + clean)]
    if len(matches) == 1:
        return matches[0], f"path {path!r} completed to {matches[0]!r}"
    return None, "no such file among the files sent" if not matches else "path matches several files"


def check_anchor(anchor: Anchor, known: Mapping[str, int]) -> tuple[Anchor | None, str]:
    """An anchor made valid (or None) and what was wrong with it ('' when it was fine)."""
    path, note = _resolve_path(anchor.path, known)
    if path is None:
        return None, note
    lines = known[path]
    start, end = anchor.start_line, anchor.end_line
    notes = [note] if note else []
    if start > end:
        start, end = end, start
        notes.append("start and end swapped")
    if start > lines:
        return None, f"lines {anchor.start_line}-{anchor.end_line} are past the end of {path} ({lines} lines)"
    if end < 1:
        return None, f"lines {anchor.start_line}-{anchor.end_line} are before the first line of {path}"
    if start < 1:
        start = 1
        notes.append("start raised to line 1")
    if end > lines:
        end = lines
        notes.append(f"end clamped to the last line ({lines})")
    if not 1 <= start <= end <= lines:  # what every later stage and script.schema.json rely on
        return None, f"lines {anchor.start_line}-{anchor.end_line} are not in {path} ({lines} lines)"
    return Anchor(path, start, end), "; ".join(notes)


def check_chapters(
    chapters: Sequence[Chapter], line_counts: Mapping[str, int]
) -> tuple[tuple[Chapter, ...], tuple[AnchorIssue, ...]]:
    """Every anchor resolved against the repository: repaired when obvious, dropped and reported if not."""
    issues: list[AnchorIssue] = []
    fixed_chapters: list[Chapter] = []
    for chapter in chapters:
        scenes: list[Scene] = []
        for scene in chapter.scenes:
            anchors: list[Anchor] = []
            for anchor in scene.anchors:
                fixed, problem = check_anchor(anchor, line_counts)
                if problem:
                    issues.append(
                        AnchorIssue(chapter.source, scene.id, anchor.path, problem, fixed is not None)
                    )
                if fixed is not None:
                    anchors.append(fixed)
            files = tuple(
                dict.fromkeys(p for p in (_resolve_path(f, line_counts)[0] for f in scene.files) if p)
            )
            scenes.append(replace(scene, anchors=tuple(anchors), files=files))
        fixed_chapters.append(replace(chapter, scenes=tuple(scenes)))
    return tuple(fixed_chapters), tuple(issues)


def uncovered_files(chapters: Sequence[Chapter], paths: Sequence[str]) -> tuple[str, ...]:
    """Files sent to the model that no scene names or anchors."""
    covered = {a.path for c in chapters for s in c.scenes for a in s.anchors}
    covered |= {f for c in chapters for s in c.scenes for f in s.files}
    return tuple(p for p in paths if p not in covered)
