"""Scenes: the script's data types, and parsing a model's chapter reply into them. Pure functions."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WORDS_PER_MINUTE = 150  # a calm presenter's speaking rate
_MIN_SCENE_SECONDS = 5.0
_FENCE_LINE = re.compile(r"^[ \t]*```[^`\n]*$", re.MULTILINE)
_DIGITS = re.compile(r"[+-]?[0-9]{1,18}")


@dataclass(frozen=True)
class Pin:
    """What an anchor's lines were when the lesson was written: how `lessongen check` finds them again."""

    lines: str  # digest of the anchored lines
    before: str  # digest of the few lines before them (CONTEXT_LINES, fewer at the top of the file)
    after: str  # digest of the few lines after them
    each_line: tuple[str, ...]  # a short checksum per anchored line: finds edited or moved code by likeness


@dataclass(frozen=True)
class Anchor:
    """Lines of a repository file shown during a scene (1-based, inclusive)."""

    path: str
    start_line: int
    end_line: int
    pin: Pin | None = None  # None in lessons written before pins (schema version 1), and before assembly

    def excerpt(self, context: int, line_count: int) -> range:
        """The line numbers an excerpt shows: the anchor's and `context` more on each side, within the file."""
        return range(max(1, self.start_line - context), min(line_count, self.end_line + context) + 1)

    def covers(self, number: int) -> bool:
        """Whether line `number` is one of the anchored lines."""
        return self.start_line <= number <= self.end_line


@dataclass(frozen=True)
class Scene:
    """One narrated scene."""

    id: str
    title: str
    narration: str
    anchors: tuple[Anchor, ...] = ()
    files: tuple[str, ...] = ()
    visual_notes: str = ""
    flagged: str = ""  # why the scene is a raw reply kept for a human to look at
    measured_seconds: float | None = None  # the narration's spoken length, once a video render measured it

    @property
    def duration_seconds(self) -> float:
        """Estimated from the narration's length at WORDS_PER_MINUTE; a flagged raw reply is no narration."""
        if self.flagged:
            return _MIN_SCENE_SECONDS  # a notice on screen; the lesson's length counts none of it
        return max(_MIN_SCENE_SECONDS, round(len(self.narration.split()) * 60 / WORDS_PER_MINUTE, 1))

    @property
    def play_seconds(self) -> float:
        """How long the scene plays: its measured spoken length when there is one, else the estimate."""
        return self.duration_seconds if self.measured_seconds is None else self.measured_seconds


@dataclass(frozen=True)
class Chapter:
    """A chapter: the answer to one batch (or the intro)."""

    title: str
    scenes: tuple[Scene, ...]
    source: str = ""  # "batch 3", "intro": shown to readers
    problems: tuple[str, ...] = field(default=())
    batch: int = 0  # the 1-based batch it answers, 0 for the intro: what orders the chapters


class ReplyError(ValueError):
    """A reply that is not a valid chapter; the message says what is wrong, for the repair turn."""


def _candidates(text: str) -> list[str]:
    """Where the chapter's JSON may be, most likely first: all of it, inside fences, the outer braces.

    A fence is only a line of its own: a JSON string cannot hold a raw newline, so backticks inside
    the narration never end a fenced block.
    """
    found = [text.strip()]
    fences = list(_FENCE_LINE.finditer(text))
    if len(fences) >= 2:
        found += [text[fences[0].end() : fences[1].start()], text[fences[0].end() : fences[-1].start()]]
    start, end = text.find("{"), text.rfind("}")
    if 0 <= start < end:
        found.append(text[start : end + 1])
    return list(dict.fromkeys(c.strip() for c in found if c.strip()[:1] == "{" and c.strip()[-1:] == "}"))


def _load(candidate: str) -> object:
    """JSON data, or a ReplyError; never RecursionError, OverflowError or a digit-limit ValueError."""
    try:
        return json.loads(candidate)
    except json.JSONDecodeError as exc:
        raise ReplyError(f"the JSON is invalid ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise ReplyError("the JSON nests too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise ReplyError(f"the JSON holds an unusable value ({str(exc)[:80]})") from None


def _json_object(text: str) -> dict[str, Any]:
    candidates = _candidates(text)
    if not candidates:
        start = text.find("{")
        if start >= 0 and text.rfind("}") < start:
            # An object that opens and never closes was cut off, not left out.
            raise ReplyError("the JSON object is cut off before its closing brace")
        raise ReplyError("the answer contains no JSON object")
    problem = ReplyError("the answer must be one JSON object")
    for candidate in candidates:
        try:
            data = _load(candidate)
        except ReplyError as exc:
            problem = exc
            continue
        if isinstance(data, dict):
            return data
    raise problem


def _string(raw: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ReplyError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def _line(value: object) -> int:
    """A line number from an int, an integral finite float or a digit string; ValueError otherwise."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError(value)
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value)
    raise ValueError(value)


def _anchor(raw: object, where: str) -> Anchor:
    if not isinstance(raw, Mapping):
        raise ReplyError(f"{where} must be an object with path, start_line and end_line")
    path = _string(raw, "path", where)
    try:
        start, end = _line(raw.get("start_line")), _line(raw.get("end_line"))
    except ValueError:
        raise ReplyError(f"{where} needs whole-number start_line and end_line") from None
    return Anchor(path, start, end)


def _scene(raw: object, index: int) -> Scene:
    where = f"scenes[{index}]"
    if not isinstance(raw, Mapping):
        raise ReplyError(f"{where} must be an object")
    anchors_raw = raw.get("anchors") or []
    files_raw = raw.get("files") or []
    if not isinstance(anchors_raw, list) or not isinstance(files_raw, list):
        raise ReplyError(f"{where}.anchors and {where}.files must be lists")
    scene_id = raw.get("id")
    return Scene(
        id=scene_id.strip() if isinstance(scene_id, str) and scene_id.strip() else f"s{index + 1}",
        title=_string(raw, "title", where),
        narration=_string(raw, "narration", where),
        anchors=tuple(_anchor(a, f"{where}.anchors[{i}]") for i, a in enumerate(anchors_raw)),
        files=tuple(f for f in files_raw if isinstance(f, str)),
        visual_notes=_string(raw, "visual_notes", where, required=False),
    )


def parse_chapter(text: str, source: str) -> Chapter:
    """A chapter from a reply: JSON (optionally fenced or with prose around it) that follows the schema."""
    data = _json_object(text)
    scenes = data.get("scenes")
    if not isinstance(scenes, list) or not scenes:
        raise ReplyError("'scenes' must be a non-empty list")
    return Chapter(
        title=_string(data, "title", "chapter"),
        scenes=tuple(_scene(s, i) for i, s in enumerate(scenes)),
        source=source,
    )


def flagged_chapter(text: str, source: str, problem: str) -> Chapter:
    """A reply that could not be parsed, kept whole as one flagged scene so nothing is lost."""
    scene = Scene(
        id="raw",
        title=f"Unparsed reply ({source})",
        narration=text.strip() or "(empty reply)",
        flagged=problem,
    )
    return Chapter(title=f"Unparsed reply for {source}", scenes=(scene,), source=source, problems=(problem,))
