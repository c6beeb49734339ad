"""Scenes: the script's data types, and parsing a model's chapter reply into them. Pure functions."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

WORDS_PER_MINUTE = 150  # a calm presenter's speaking rate
_MIN_SCENE_SECONDS = 5.0
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)

# The JSON schema of one chapter, asked for with structured outputs where the server supports them.
CHAPTER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "title": {"type": "string"},
        "scenes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "string"},
                    "title": {"type": "string"},
                    "narration": {"type": "string"},
                    "anchors": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "path": {"type": "string"},
                                "start_line": {"type": "integer"},
                                "end_line": {"type": "integer"},
                            },
                            "required": ["path", "start_line", "end_line"],
                        },
                    },
                    "files": {"type": "array", "items": {"type": "string"}},
                    "visual_notes": {"type": "string"},
                },
                "required": ["id", "title", "narration", "anchors", "files", "visual_notes"],
            },
        },
    },
    "required": ["title", "scenes"],
}


@dataclass(frozen=True)
class Anchor:
    """Lines of a repository file shown during a scene (1-based, inclusive)."""

    path: str
    start_line: int
    end_line: int


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

    @property
    def duration_seconds(self) -> float:
        """Estimated from the narration's length at WORDS_PER_MINUTE."""
        return max(_MIN_SCENE_SECONDS, round(len(self.narration.split()) * 60 / WORDS_PER_MINUTE, 1))


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


def _json_text(text: str) -> str:
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1)
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ReplyError("the answer contains no JSON object")
    return text[start : end + 1]


def _string(raw: Mapping[str, Any], key: str, where: str, required: bool = True) -> str:
    value = raw.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ReplyError(f"{where}.{key} must be a non-empty string")
    return value.strip()


def _anchor(raw: object, where: str) -> Anchor:
    if not isinstance(raw, Mapping):
        raise ReplyError(f"{where} must be an object with path, start_line and end_line")
    path = _string(raw, "path", where)
    try:
        start, end = int(raw["start_line"]), int(raw["end_line"])
    except (KeyError, TypeError, ValueError):
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
    return Scene(
        id=str(raw.get("id") or f"s{index + 1}"),
        title=_string(raw, "title", where),
        narration=_string(raw, "narration", where),
        anchors=tuple(_anchor(a, f"{where}.anchors[{i}]") for i, a in enumerate(anchors_raw)),
        files=tuple(str(f) for f in files_raw),
        visual_notes=_string(raw, "visual_notes", where, required=False),
    )


def parse_chapter(text: str, source: str) -> Chapter:
    """A chapter from a reply: JSON (optionally fenced or with prose around it) that follows the schema."""
    try:
        data = json.loads(_json_text(text))
    except json.JSONDecodeError as exc:
        raise ReplyError(f"the JSON is invalid ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ReplyError("the answer must be one JSON object")
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
