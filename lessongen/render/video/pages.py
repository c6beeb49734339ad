"""What each frame of a scene shows: its title and a page of anchored code. Pure functions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lessongen.render.base import Slot
from lessongen.shared.data import file_lines
from lessongen.shared.escaping import escape_controls

LINES_PER_PAGE = 16  # what stays legible at 720p in the frame's font size
CONTEXT_LINES = 2  # unhighlighted lines shown around an anchor, so the excerpt reads in place
MAX_COLUMNS = 76  # longer lines are cut with an ellipsis


@dataclass(frozen=True)
class CodeLine:
    """One line of an excerpt: its number in the file, its text, and whether the scene anchors it."""

    number: int
    text: str
    anchored: bool


@dataclass(frozen=True)
class Page:
    """One frame: the scene's heading and title, where the code comes from, and its lines."""

    heading: str
    title: str
    source: str  # 'path, lines 3-9 (2 of 3)', or a note when there is no code
    lines: tuple[CodeLine, ...] = ()


def _clean(text: str) -> str:
    line = escape_controls(text.expandtabs(4).rstrip(), keep="")
    return line if len(line) <= MAX_COLUMNS else line[: MAX_COLUMNS - 1] + "…"


def scene_pages(slot: Slot, sources: Mapping[str, str]) -> tuple[Page, ...]:
    """The scene's frames: each anchor's lines with a little context, split into pages; one page without code."""
    scene = slot.scene
    heading = f"{slot.heading} · scene {slot.number}"
    title = escape_controls(scene.title, keep="")
    if scene.flagged:
        return (
            Page(
                heading,
                title,
                "This scene was flagged for review: " + escape_controls(scene.flagged, keep=""),
            ),
        )
    pages: list[Page] = []
    for anchor in scene.anchors:
        text = sources.get(anchor.path)
        if text is None:
            continue  # the file is gone or was left out (a secret): nothing to show of it
        lines = file_lines(text)
        shown = [
            CodeLine(n, _clean(lines[n - 1]), anchor.covers(n))
            for n in anchor.excerpt(CONTEXT_LINES, len(lines))
        ]
        chunks = [shown[i : i + LINES_PER_PAGE] for i in range(0, len(shown), LINES_PER_PAGE)]
        where = escape_controls(f"{anchor.path}, lines {anchor.start_line}-{anchor.end_line}", keep="")
        for index, chunk in enumerate(chunks, 1):
            part = f" ({index} of {len(chunks)})" if len(chunks) > 1 else ""
            pages.append(Page(heading, title, where + part, tuple(chunk)))
    return tuple(pages) or (Page(heading, title, ""),)
