"""The JSON schema of one chapter, bounded so that a grammar-constrained model cannot run on forever.

Servers and in-process models that enforce schemas (llama.cpp's `json_schema`, llama-cpp-python's
grammar, OpenAI's strict structured outputs) then keep even a weak model to a valid chapter: a few
scenes, a few anchors, strings of a sane length, and anchor paths that exist in the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

MAX_ANCHORS = 4  # anchors per scene
MAX_FILES = 8  # files listed per scene
MAX_ENUM_PATHS = 200  # above this many paths a grammar grows too large: paths are then plain strings
# Characters per string: a title is one line; narration is 60-180 spoken words. llama-cpp-python
# turns maxLength into nested optional rules, one level per character: bounds much above these
# (1,400 for narration measured) overflow its grammar parser and crash the process.
TITLE_CHARS = 120
ID_CHARS = 24
NARRATION_CHARS = 900
NOTES_CHARS = 240
PATH_CHARS = 200


def _text(limit: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": limit}


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    # Every property required and no others: what OpenAI's strict mode asks for, harmless elsewhere.
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def chapter_schema(paths: Sequence[str], max_scenes: int) -> dict[str, Any]:
    """The schema of a chapter of at most `max_scenes` scenes whose anchors point into `paths`.

    With no paths (or too many), a path is any string of bounded length.
    """
    choices = sorted(set(paths))
    path: dict[str, Any] = (
        {"type": "string", "enum": choices} if 0 < len(choices) <= MAX_ENUM_PATHS else _text(PATH_CHARS)
    )
    anchor = _object({"path": path, "start_line": {"type": "integer"}, "end_line": {"type": "integer"}})
    scene = _object(
        {
            "id": _text(ID_CHARS),
            "title": _text(TITLE_CHARS),
            "narration": _text(NARRATION_CHARS),
            "anchors": {"type": "array", "items": anchor, "maxItems": MAX_ANCHORS},
            "files": {"type": "array", "items": path, "maxItems": min(MAX_FILES, len(choices) or MAX_FILES)},
            "visual_notes": _text(NOTES_CHARS),
        }
    )
    scenes = {"type": "array", "items": scene, "minItems": 1, "maxItems": max(1, max_scenes)}
    return _object({"title": _text(TITLE_CHARS), "scenes": scenes})
