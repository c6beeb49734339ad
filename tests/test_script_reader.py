"""script.json read back: what the shipped schema rejects, the reader rejects; a real script round-trips."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from lessongen.script.assemble import script_json
from lessongen.script.reader import ScriptFormatError, script_from_json

SCHEMA = json.loads((Path(__file__).parents[1] / "lessongen" / "script" / "script.schema.json").read_text())
SCENE: dict[str, Any] = {
    "id": "s1",
    "title": "A scene",
    "narration": "Words said.",
    "anchors": [
        {
            "path": "a.py",
            "start_line": 1,
            "end_line": 2,
            "pin": {
                "lines": "0" * 32,
                "before": "1" * 32,
                "after": "2" * 32,
                "each_line": "0123abcd 89ef4567",
            },
        }
    ],
    "files": ["a.py"],
    "visual_notes": "Show a.py.",
    "duration_seconds": 5.0,
}
VALID: dict[str, Any] = {
    "schema_version": 2,
    "title": "t",
    "complete": False,
    "duration_seconds": 5.0,  # the flagged scene counts for no time
    "chapters": [
        {"title": "Intro", "source": "intro", "scenes": [SCENE]},
        {"title": "One", "source": "batch 1", "scenes": [{**SCENE, "id": "raw", "flagged": "why"}]},
    ],
    "anchor_issues": [
        {"chapter": "batch 1", "scene": "raw", "path": "b.py", "problem": "p", "repaired": False}
    ],
    "uncovered_files": ["c.py"],
}


def test_a_valid_script_round_trips() -> None:
    jsonschema.validate(VALID, SCHEMA)
    assert script_json(script_from_json(VALID)) == VALID


def test_a_version_1_script_without_pins_is_read_and_written_as_version_2() -> None:
    old = copy.deepcopy(VALID)
    old["schema_version"] = 1
    for chapter in old["chapters"]:
        for scene in chapter["scenes"]:
            for anchor in scene["anchors"]:
                anchor.pop("pin", None)  # the scenes share one list of anchors
    jsonschema.validate(old, SCHEMA)
    script = script_from_json(old)
    assert [a.pin for c in script.chapters for s in c.scenes for a in s.anchors] == [None, None]
    again = script_json(script)
    jsonschema.validate(again, SCHEMA)
    assert again == {**old, "schema_version": 2}


def test_a_pin_needs_one_checksum_per_anchored_line() -> None:
    data = copy.deepcopy(VALID)
    data["chapters"][0]["scenes"][0]["anchors"][0]["pin"]["each_line"] = "0123abcd"
    with pytest.raises(ScriptFormatError, match="one checksum per anchored line"):
        script_from_json(data)


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for step in path[:-1]:
            target = target[step]
        if value is KeyError:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


SCENE_AT = ("chapters", 0, "scenes", 0)
BROKEN = {
    "not an object": lambda d: d.clear() or d.update({"x": []}),
    "wrong version": _set(("schema_version",), 3),
    "version true": _set(("schema_version",), True),
    "pin digest short": _set((*SCENE_AT, "anchors", 0, "pin", "lines"), "abc"),
    "pin digest in capitals": _set((*SCENE_AT, "anchors", 0, "pin", "before"), "A" * 32),
    "pin without after": _set((*SCENE_AT, "anchors", 0, "pin", "after"), KeyError),
    "pin checksums a list": _set((*SCENE_AT, "anchors", 0, "pin", "each_line"), ["0123abcd"]),
    "pin a string": _set((*SCENE_AT, "anchors", 0, "pin"), "pinned"),
    "empty title": _set(("title",), ""),
    "complete as text": _set(("complete",), "yes"),
    "chapters missing": _set(("chapters",), KeyError),
    "chapter without scenes": _set(("chapters", 0, "scenes"), []),
    "chapter source missing": _set(("chapters", 0, "source"), KeyError),
    "scene title a number": _set((*SCENE_AT, "title"), 3),
    "scene id empty": _set((*SCENE_AT, "id"), ""),
    "narration missing": _set((*SCENE_AT, "narration"), KeyError),
    "anchor line zero": _set((*SCENE_AT, "anchors", 0, "start_line"), 0),
    "anchor line a float": _set((*SCENE_AT, "anchors", 0, "end_line"), 2.5),
    "anchor line true": _set((*SCENE_AT, "anchors", 0, "end_line"), True),
    "anchor path missing": _set((*SCENE_AT, "anchors", 0, "path"), KeyError),
    "files not strings": _set((*SCENE_AT, "files"), [1]),
    "flagged a list": _set((*SCENE_AT, "flagged"), []),
    "issue repaired as text": _set(("anchor_issues", 0, "repaired"), "no"),
    "uncovered not a list": _set(("uncovered_files",), "c.py"),
}


@pytest.mark.parametrize("change", BROKEN.values(), ids=BROKEN.keys())
def test_the_reader_rejects_what_the_schema_rejects(change: Callable[[dict[str, Any]], None]) -> None:
    data = copy.deepcopy(VALID)
    change(data)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, SCHEMA)
    with pytest.raises(ScriptFormatError):
        script_from_json(data)
