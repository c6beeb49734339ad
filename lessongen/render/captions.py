"""Captions of the narration timed by scene: WebVTT, SRT, and a WebVTT chapters track."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from lessongen.render.base import Lesson, RenderedFile, Slot, timeline
from lessongen.render.formats import Format
from lessongen.script.assemble import heading_line
from lessongen.shared.escaping import escape_controls
from lessongen.shared.layout import CAPTIONS_DIR

LINE_WIDTH = 42  # characters per caption line, the usual broadcast limit
CUE_CHARACTERS = 2 * LINE_WIDTH  # about two lines per cue
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True)
class Cue:
    """One caption: from start to end (milliseconds), its text lines."""

    start: int
    end: int
    lines: tuple[str, ...]


def _chunks(text: str) -> list[str]:
    """Sentences packed into pieces of about two caption lines."""
    pieces: list[str] = []
    for sentence in _SENTENCE.split(" ".join(text.split())):
        if pieces and len(pieces[-1]) + 1 + len(sentence) <= CUE_CHARACTERS:
            pieces[-1] += " " + sentence
        else:
            pieces += (
                textwrap.wrap(sentence, CUE_CHARACTERS, break_long_words=False, break_on_hyphens=False) or []
            )
    return pieces


def _scene_cues(slot: Slot) -> list[Cue]:
    scene = slot.scene
    # Controls and invisible formatting characters show as escapes; none can break a cue or hide text.
    text = escape_controls(f"(Scene flagged: {scene.flagged})" if scene.flagged else scene.narration)
    pieces = _chunks(text) or ["…"]
    start, end = round(slot.start * 1000), round(slot.end * 1000)
    words = [max(1, len(p.split())) for p in pieces]
    total = sum(words)
    cues, done = [], 0
    for piece, count in zip(pieces, words, strict=True):
        # Each piece gets the scene's time in proportion to its words; the last ends with the scene.
        begin = start + (end - start) * done // total
        done += count
        finish = start + (end - start) * done // total
        cues.append(
            Cue(
                begin,
                finish,
                tuple(textwrap.wrap(piece, LINE_WIDTH, break_long_words=False, break_on_hyphens=False)),
            )
        )
    return cues


def cues(slots: Sequence[Slot]) -> list[Cue]:
    """The narration's cues, scene after scene."""
    return [cue for slot in slots for cue in _scene_cues(slot)]


def chapter_cues(slots: Sequence[Slot]) -> list[Cue]:
    """One cue per chapter, spanning its scenes."""
    spans: dict[int, Cue] = {}
    for slot in slots:
        title = escape_controls(heading_line(slot.heading, slot.chapter.title), keep="")
        first = spans.get(slot.chapter_number)
        start = first.start if first else round(slot.start * 1000)
        spans[slot.chapter_number] = Cue(start, round(slot.end * 1000), (title,))
    return list(spans.values())


def _clock(ms: int, separator: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{separator}{millis:03d}"


def _vtt_text(line: str) -> str:
    # WebVTT cue text knows tags and entities; escaping & < > also rules out a '-->' in the text.
    return line.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _srt_text(line: str) -> str:
    # SRT has no escapes and players read <i>-style tags in it: angle brackets become look-alikes.
    return line.replace("<", "‹").replace(">", "›")


def webvtt(found: Sequence[Cue], prefix: str = "") -> str:
    """A WebVTT file of the cues (identifiers prefix-N)."""
    out = ["WEBVTT", ""]
    for number, cue in enumerate(found, 1):
        out.append(f"{prefix}{number}")
        out.append(f"{_clock(cue.start, '.')} --> {_clock(cue.end, '.')}")
        out += [_vtt_text(line) for line in cue.lines]
        out.append("")
    return "\n".join(out)


def srt(found: Sequence[Cue]) -> str:
    """An SRT file of the cues."""
    out = []
    for number, cue in enumerate(found, 1):
        out += [str(number), f"{_clock(cue.start, ',')} --> {_clock(cue.end, ',')}"]
        out += [_srt_text(line) for line in cue.lines]
        out.append("")
    return "\n".join(out)


class Captions:
    """The narration as captions under captions/."""

    format = Format.VTT
    folder = CAPTIONS_DIR
    stale = ""

    def render(self, lesson: Lesson) -> tuple[RenderedFile, ...]:
        """lesson.vtt, lesson.srt and chapters.vtt."""
        slots = timeline(lesson.script)
        narration = cues(slots)
        return (
            RenderedFile("lesson.vtt", webvtt(narration)),
            RenderedFile("lesson.srt", srt(narration)),
            RenderedFile("chapters.vtt", webvtt(chapter_cues(slots), "chapter-")),
        )
