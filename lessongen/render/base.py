"""What every renderer shares: the formats, the lesson they read, the files they return, the timeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from lessongen.render.formats import Format
from lessongen.script.assemble import Script, chapter_headings
from lessongen.script.scenes import Chapter, Scene
from lessongen.shared.data import GitOrigin


@dataclass(frozen=True)
class Lesson:
    """What a renderer reads: the script, the text of the files its anchors point into, and the origin."""

    script: Script
    sources: Mapping[str, str] = field(default_factory=dict)  # repository path -> text, as the run saw it
    origin: GitOrigin | None = None
    folder: Path | None = None  # where the lesson lives; the video keeps its per-scene cache there


@dataclass(frozen=True)
class RenderedFile:
    """One file a renderer produced, named relative to its format's folder (never from model text)."""

    name: str
    text: str | bytes  # bytes for binary formats (the MP4)


class Renderer(Protocol):
    """A member of the family: reads a lesson, returns its files; the registry writes them."""

    format: Format
    folder: str  # under the output folder
    stale: str  # glob of files in the folder an earlier render may have left that this one replaces

    def render(self, lesson: Lesson) -> tuple[RenderedFile, ...]:
        """The files of this format, in memory."""
        ...


@dataclass(frozen=True)
class Slot:
    """A scene's place in the lesson: its chapter, its numbers and when it plays."""

    chapter_number: int
    chapter: Chapter
    heading: str  # 'Introduction' or 'Chapter N'
    number: int  # 1-based across the whole lesson
    scene: Scene
    start: float  # seconds from the start of the lesson
    end: float


def timeline(script: Script) -> tuple[Slot, ...]:
    """Every scene in lesson order with its start and end: measured spoken lengths where known, else estimates."""
    slots: list[Slot] = []
    clock = 0.0
    headings = chapter_headings(script.chapters)
    for chapter_number, chapter in enumerate(script.chapters):
        heading = headings[chapter_number]
        for scene in chapter.scenes:
            end = round(clock + scene.play_seconds, 3)
            slots.append(Slot(chapter_number, chapter, heading, len(slots) + 1, scene, clock, end))
            clock = end
    return tuple(slots)
