"""Reading script.json back into a Script: the inverse of assemble.script_json, checked by the schema."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import jsonschema

from lessongen.script.anchors import AnchorIssue
from lessongen.script.assemble import Script
from lessongen.script.scenes import Anchor, Chapter, Scene


class ScriptFormatError(ValueError):
    """script.json does not follow the shipped schema; the message says where."""


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(resources.files("lessongen.script").joinpath("script.schema.json").read_text("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _where(error: jsonschema.ValidationError) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "the top"


def _scene(raw: dict[str, Any]) -> Scene:
    return Scene(
        id=raw["id"],
        title=raw["title"],
        narration=raw["narration"],
        anchors=tuple(Anchor(a["path"], a["start_line"], a["end_line"]) for a in raw["anchors"]),
        files=tuple(raw["files"]),
        visual_notes=raw["visual_notes"],
        flagged=raw.get("flagged", ""),
    )


def script_from_json(data: Any) -> Script:
    """The Script that script.json holds; ScriptFormatError when the data breaks the schema."""
    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is not None:
        raise ScriptFormatError(f"at {_where(error)}: {error.message[:200]}")
    return Script(
        title=data["title"],
        chapters=tuple(
            Chapter(c["title"], tuple(_scene(s) for s in c["scenes"]), c["source"]) for c in data["chapters"]
        ),
        anchor_issues=tuple(
            AnchorIssue(i["chapter"], i["scene"], i["path"], i["problem"], i["repaired"])
            for i in data["anchor_issues"]
        ),
        uncovered=tuple(data["uncovered_files"]),
        complete=data["complete"],
    )
