"""Reading script.json back into a Script: the inverse of assemble.script_json, checked as it is read.

The required fields and their types follow script.schema.json (the tests hold both to the same
samples); the checks are written out rather than run through a schema library, whose import alone
would cost every command about half a second. Unknown keys are ignored.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from lessongen.script.anchors import AnchorIssue
from lessongen.script.assemble import READABLE_VERSIONS, Script
from lessongen.script.scenes import Anchor, Chapter, Pin, Scene

T = TypeVar("T")
_DIGEST = re.compile(r"[0-9a-f]{32}")
_CHECKSUM = re.compile(r"[0-9a-f]{8}")
_NAMES = {str: "a string", bool: "true or false", list: "a list", dict: "an object", int: "a whole number"}


class ScriptFormatError(ValueError):
    """script.json does not follow the shipped schema; the message says where."""


def _field(raw: dict[str, Any], key: str, kind: type[T], where: str, minimum: int | None = None) -> T:
    value = raw.get(key)
    wrong = isinstance(value, bool) and kind is not bool
    if key not in raw or wrong or not isinstance(value, kind):
        raise ScriptFormatError(f"{where}.{key} must be {_NAMES.get(kind, kind.__name__)}")
    if minimum is not None and isinstance(value, int) and value < minimum:
        raise ScriptFormatError(f"{where}.{key} must be at least {minimum}")
    return value


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScriptFormatError(f"{where} must be an object")
    return value


def _strings(raw: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    items = _field(raw, key, list, where)
    if not all(isinstance(item, str) for item in items):
        raise ScriptFormatError(f"{where}.{key} must be a list of strings")
    return tuple(items)


def _pin(value: object, where: str) -> Pin:
    raw = _object(value, where)
    lines, before, after = (_field(raw, key, str, where) for key in ("lines", "before", "after"))
    each_line = tuple(_field(raw, "each_line", str, where).split())
    if not all(_DIGEST.fullmatch(d) for d in (lines, before, after)) or not all(
        _CHECKSUM.fullmatch(c) for c in each_line
    ):
        raise ScriptFormatError(f"{where} holds a digest that is not lowercase hex of the right length")
    return Pin(lines, before, after, each_line)


def _anchor(value: object, where: str) -> Anchor:
    raw = _object(value, where)
    start = _field(raw, "start_line", int, where, minimum=1)
    end = _field(raw, "end_line", int, where, minimum=1)
    pin = _pin(raw["pin"], f"{where}.pin") if "pin" in raw else None
    if pin is not None and len(pin.each_line) != end - start + 1:
        raise ScriptFormatError(f"{where}.pin.each_line must hold one checksum per anchored line")
    return Anchor(_field(raw, "path", str, where), start, end, pin)


def _scene(value: object, where: str) -> Scene:
    raw = _object(value, where)
    flagged = raw.get("flagged", "")
    if not isinstance(flagged, str):
        raise ScriptFormatError(f"{where}.flagged must be a string")
    scene_id = _field(raw, "id", str, where)
    if not scene_id:
        raise ScriptFormatError(f"{where}.id must not be empty")
    anchors = _field(raw, "anchors", list, where)
    measured = raw.get("measured_seconds")
    if measured is not None and (
        isinstance(measured, bool) or not isinstance(measured, int | float) or measured < 0
    ):
        raise ScriptFormatError(f"{where}.measured_seconds must be a number of seconds")
    return Scene(
        id=scene_id,
        title=_field(raw, "title", str, where),
        narration=_field(raw, "narration", str, where),
        anchors=tuple(_anchor(a, f"{where}.anchors[{i}]") for i, a in enumerate(anchors)),
        files=_strings(raw, "files", where),
        visual_notes=_field(raw, "visual_notes", str, where),
        flagged=flagged,
        measured_seconds=None if measured is None else float(measured),
    )


def _chapter(value: object, where: str) -> Chapter:
    raw = _object(value, where)
    scenes = _field(raw, "scenes", list, where)
    if not scenes:
        raise ScriptFormatError(f"{where}.scenes must not be empty")
    return Chapter(
        _field(raw, "title", str, where),
        tuple(_scene(s, f"{where}.scenes[{i}]") for i, s in enumerate(scenes)),
        _field(raw, "source", str, where),
    )


def _issue(value: object, where: str) -> AnchorIssue:
    raw = _object(value, where)
    keys = ("chapter", "scene", "path", "problem")
    chapter, scene, path, problem = (_field(raw, key, str, where) for key in keys)
    return AnchorIssue(chapter, scene, path, problem, _field(raw, "repaired", bool, where))


def script_from_json(data: object) -> Script:
    """The Script that script.json holds; ScriptFormatError when the data breaks the schema."""
    raw = _object(data, "the script")
    version = raw.get("schema_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ScriptFormatError(f"schema_version must be one of {', '.join(map(str, READABLE_VERSIONS))}")
    title = _field(raw, "title", str, "the script")
    if not title:
        raise ScriptFormatError("the script's title must not be empty")
    chapters = _field(raw, "chapters", list, "the script")
    issues = _field(raw, "anchor_issues", list, "the script")
    return Script(
        title=title,
        chapters=tuple(_chapter(c, f"chapters[{i}]") for i, c in enumerate(chapters)),
        anchor_issues=tuple(_issue(x, f"anchor_issues[{i}]") for i, x in enumerate(issues)),
        uncovered=_strings(raw, "uncovered_files", "the script"),
        complete=_field(raw, "complete", bool, "the script"),
    )
