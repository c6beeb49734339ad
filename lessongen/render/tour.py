"""CodeTour: one .tour file per chapter, chained with nextTour, one step per scene."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from lessongen.render.base import Lesson, RenderedFile, Slot, timeline
from lessongen.render.formats import Format
from lessongen.shared.data import GitOrigin, file_lines
from lessongen.shared.escaping import markdown_block, one_line
from lessongen.shared.layout import TOURS_DIR

SCHEMA_URL = "https://aka.ms/codetour-schema"


def markdown_text(text: str) -> str:
    """Model text as inert Markdown for CodeTour: shown literally, never markup, a link or a command.

    CodeTour renders descriptions as Markdown in which command links ([x](command:...)) and '>> shell'
    lines are live; markdown_block leaves neither (brackets and a leading '>' are escaped), and VS
    Code's $(icon) syntax is escaped here on top.
    """
    return markdown_block(text).replace("$", "\\$")


def _path(origin: GitOrigin | None, path: str) -> str:
    # Editors open the work tree's top, so a lesson made of a sub-folder names its files from there.
    return posixpath.join(origin.prefix, path) if origin and origin.prefix else path


def _description(slot: Slot) -> str:
    scene = slot.scene
    parts = []
    if scene.flagged:
        parts.append(f"**Flagged:** {markdown_text(scene.flagged)}\\. The model's raw reply follows.")
    parts += [markdown_text(p.strip()) for p in re.split(r"\n\s*\n", scene.narration) if p.strip()]
    if scene.visual_notes:
        parts.append(f"**On screen:** {markdown_text(scene.visual_notes)}")
    for anchor in scene.anchors[1:]:
        parts.append(f"Also: {markdown_text(anchor.path)} lines {anchor.start_line} to {anchor.end_line}")
    parts.append(f"*Scene {slot.number}, about {round(scene.duration_seconds)} s*")
    return "\n\n".join(parts)


def _step(slot: Slot, lesson: Lesson) -> dict[str, Any]:
    scene = slot.scene
    step: dict[str, Any] = {"title": one_line(scene.title), "description": _description(slot)}
    if scene.anchors:
        anchor = scene.anchors[0]
        lines = file_lines(lesson.sources.get(anchor.path, ""))
        last = lines[anchor.end_line - 1] if anchor.end_line <= len(lines) else ""
        step["file"] = _path(lesson.origin, anchor.path)
        step["line"] = anchor.end_line  # where CodeTour shows the comment: under the selection
        step["selection"] = {
            "start": {"line": anchor.start_line, "character": 1},
            "end": {"line": anchor.end_line, "character": len(last) + 1},
        }
    elif scene.files:
        step["file"] = _path(lesson.origin, scene.files[0])
    return step


def _title(slot: Slot, count: int) -> str:
    # Titles must be unique (nextTour refers to one) and sort in lesson order in CodeTour's list.
    width = len(str(count))
    return f"{slot.chapter_number + 1:0{width}d}. {slot.heading}: {one_line(slot.chapter.title)}"


class CodeTours:
    """The lesson as CodeTour tours under .tours/."""

    format = Format.TOUR
    folder = TOURS_DIR
    stale = "*.tour"

    def render(self, lesson: Lesson) -> tuple[RenderedFile, ...]:
        """One tour per chapter, the first one primary, each naming the next."""
        slots = timeline(lesson.script)
        chapters: dict[int, list[Slot]] = {}
        for slot in slots:
            chapters.setdefault(slot.chapter_number, []).append(slot)
        groups = list(chapters.values())
        titles = [_title(group[0], len(groups)) for group in groups]
        files = []
        for index, group in enumerate(groups):
            tour: dict[str, Any] = {
                "$schema": SCHEMA_URL,
                "title": titles[index],
                "description": f"{one_line(lesson.script.title)}: part {index + 1} of {len(groups)}",
            }
            if lesson.origin is not None:
                tour["ref"] = lesson.origin.commit
            if index == 0:
                tour["isPrimary"] = True
            tour["steps"] = [_step(slot, lesson) for slot in group]
            if index + 1 < len(groups):
                tour["nextTour"] = titles[index + 1]
            name = (
                f"{index:02d}-introduction.tour"
                if index == 0 and group[0].heading == "Introduction"
                else f"{index:02d}-chapter.tour"
            )
            files.append(RenderedFile(name, json.dumps(tour, indent=2, ensure_ascii=False) + "\n"))
        return tuple(files)
