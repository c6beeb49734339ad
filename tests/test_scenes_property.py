"""Property: any text and any JSON, chapter-shaped or not, gives a well-typed Chapter or a ReplyError."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lessongen.script.scenes import Chapter, ReplyError, parse_chapter

_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
_KEYS = ("id", "title", "narration", "anchors", "files", "visual_notes", "path", "start_line", "end_line")
_WORDS = st.text(min_size=1, max_size=30).filter(str.strip)
_LINE = st.integers(-3, 50) | st.floats() | st.text(max_size=5) | _JSON
_ANCHOR = st.fixed_dictionaries({"path": _WORDS | _JSON, "start_line": _LINE, "end_line": _LINE})
# Mostly the right shape with a value of any type here and there, so both outcomes are reached.
_SCENE = st.fixed_dictionaries(
    {"title": _WORDS | _JSON, "narration": _WORDS | _JSON},
    optional={
        "id": _WORDS | _JSON,
        "anchors": st.lists(_ANCHOR | _JSON, max_size=3) | _JSON,
        "files": st.lists(_WORDS | _JSON, max_size=3) | _JSON,
        "visual_notes": _WORDS | _JSON,
    },
)
_CHAPTER = st.fixed_dictionaries(
    {"title": _WORDS | _JSON, "scenes": st.lists(_SCENE | _JSON, min_size=1, max_size=3) | _JSON}
)
_WRAPPERS = st.sampled_from(["{}", "```json\n{}\n```", "Here:\n{}\nDone.", "```\n{}\n```\n```x```", "{}}}{{"])


def _check(text: str) -> None:
    try:
        chapter = parse_chapter(text, "batch 1")
    except ReplyError:
        return
    assert isinstance(chapter, Chapter) and chapter.title and chapter.scenes
    for scene in chapter.scenes:
        assert isinstance(scene.id, str) and scene.id
        assert isinstance(scene.title, str) and scene.title.strip()
        assert isinstance(scene.narration, str) and scene.narration.strip()
        assert isinstance(scene.visual_notes, str)
        assert all(isinstance(f, str) for f in scene.files)
        for anchor in scene.anchors:
            assert isinstance(anchor.path, str)
            assert type(anchor.start_line) is int and type(anchor.end_line) is int
        assert scene.duration_seconds > 0


def _dumps(data: Any) -> str:
    return json.dumps(data, allow_nan=True)


# Few examples each, no deadline and no example database: small, steady and leaving no files behind.
QUICK = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@QUICK
@given(st.text())
def test_any_text(text: str) -> None:
    _check(text)


@QUICK
@given(_JSON)
def test_any_json(data: Any) -> None:
    _check(_dumps(data))


@QUICK
@given(_CHAPTER, _WRAPPERS, st.sampled_from(_KEYS))
def test_chapter_shaped_json_in_any_wrapper(data: dict[str, Any], wrapper: str, key: str) -> None:
    text = wrapper.replace("{}", _dumps(data), 1)
    _check(text)
    _check(text.replace(f'"{key}"', f'"{key}": ' + "[" * 2000 + "]" * 2000 + ', "x"', 1))
