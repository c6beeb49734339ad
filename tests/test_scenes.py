import json

import pytest

from lessongen.script.anchors import check_anchor, check_chapters, uncovered_files
from lessongen.script.scenes import Anchor, Chapter, ReplyError, Scene, flagged_chapter, parse_chapter

GOOD = {
    "title": "Parsing",
    "scenes": [
        {
            "id": "p1",
            "title": "The parser",
            "narration": " ".join(["word"] * 150),
            "anchors": [{"path": "src/p.py", "start_line": 1, "end_line": 4}],
            "files": ["src/p.py"],
            "visual_notes": "highlight the loop",
        }
    ],
}


def test_parse_plain_fenced_and_wrapped_json() -> None:
    text = json.dumps(GOOD)
    for variant in (text, f"```json\n{text}\n```", f"Here is the chapter:\n{text}\nHope this helps!"):
        chapter = parse_chapter(variant, "batch 1")
        assert chapter.title == "Parsing" and chapter.source == "batch 1"
        scene = chapter.scenes[0]
        assert scene.anchors == (Anchor("src/p.py", 1, 4),)
        assert scene.duration_seconds == 60.0  # 150 words at 150 words per minute


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no json here", "no JSON object"),
        ('{"title": "x", "scenes": [', "cut off before its closing brace"),
        ('{"title": "x", "scenes": [}', "invalid"),
        ('{"title": "x", "scenes": []}', "non-empty list"),
        (
            '{"title": "x", "scenes": [{"title": "t", "narration": ""}]}',
            "narration must be a non-empty string",
        ),
        (
            '{"title": "x", "scenes": [{"title": "t", "narration": "n", "anchors": [{"path": "a"}]}]}',
            "start_line",
        ),
    ],
)
def test_invalid_replies_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(ReplyError, match=problem):
        parse_chapter(text, "batch 2")


def test_flagged_chapter_keeps_raw_text() -> None:
    chapter = flagged_chapter("raw words", "batch 3", "invalid JSON")
    assert chapter.scenes[0].narration == "raw words"
    assert chapter.scenes[0].flagged == "invalid JSON"


LINES = {"src/p.py": 40, "src/pkg/util.py": 10, "README.md": 5, "empty.py": 0}


@pytest.mark.parametrize(
    ("anchor", "expected", "problem"),
    [
        (Anchor("src/p.py", 3, 9), Anchor("src/p.py", 3, 9), ""),
        (Anchor("./src/p.py", 3, 9), Anchor("src/p.py", 3, 9), "normalised"),
        (Anchor("util.py", 1, 2), Anchor("src/pkg/util.py", 1, 2), "completed"),
        (Anchor("src/p.py", 9, 3), Anchor("src/p.py", 3, 9), "swapped"),
        (Anchor("src/p.py", 30, 80), Anchor("src/p.py", 30, 40), "clamped"),
        (Anchor("src/p.py", 0, 2), Anchor("src/p.py", 1, 2), "raised"),
        (Anchor("src/p.py", 50, 60), None, "past the end"),
        (Anchor("src/p.py", -5, -1), None, "before the first line"),
        (Anchor("src/p.py", -1, -5), None, "before the first line"),
        (Anchor("src/p.py", -3, 2), Anchor("src/p.py", 1, 2), "raised"),
        (Anchor("empty.py", 0, 5), None, "not in empty.py"),
        (Anchor("../etc/passwd", 1, 2), None, "leaves the repository"),
        (Anchor("/etc/passwd", 1, 2), None, "leaves the repository"),
        (Anchor("C:/x.py", 1, 2), None, "leaves the repository"),
        (Anchor("missing.py", 1, 2), None, "no such file"),
    ],
)
def test_check_anchor(anchor: Anchor, expected: Anchor | None, problem: str) -> None:
    fixed, note = check_anchor(anchor, LINES)
    assert fixed == expected
    assert problem in note if problem else note == ""


def test_check_chapters_reports_and_uncovered() -> None:
    scene = Scene(
        "a", "t", "n", anchors=(Anchor("src/p.py", 1, 2), Anchor("nope.py", 1, 1)), files=("README.md",)
    )
    chapters, issues = check_chapters([Chapter("c", (scene,), "batch 1")], LINES)
    assert chapters[0].scenes[0].anchors == (Anchor("src/p.py", 1, 2),)
    assert [(i.path, i.repaired) for i in issues] == [("nope.py", False)]
    assert uncovered_files(chapters, list(LINES)) == ("src/pkg/util.py", "empty.py")


def _with_narration(narration: str) -> str:
    return json.dumps({**GOOD, "scenes": [{**GOOD["scenes"][0], "narration": narration}]}, indent=1)


@pytest.mark.parametrize(
    "text",
    [
        _with_narration("Run it like this: ```python\nmain()\n``` and watch."),
        "```json\n" + _with_narration("Fences ``` inside ```json the narration") + "\n```",
        "Sure!\n```\n" + _with_narration("```") + "\n```\nAnything else? {happy to help}",
        "```json " + _with_narration("inline ``` fence") + " ```",
    ],
    ids=["unfenced", "fenced", "fenced-with-prose", "one-line"],
)
def test_backticks_inside_the_narration_do_not_break_fence_extraction(text: str) -> None:
    chapter = parse_chapter(text, "batch 1")
    assert "```" in chapter.scenes[0].narration


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"title": "x", "scenes": ' + "[" * 5000 + "]" * 5000 + "}", "nests too deeply"),
        ("{" + '"a": {' * 5000 + "}" * 5001, "nests too deeply"),
        (_with_narration("n").replace('"start_line": 1', '"start_line": 1e999'), "whole-number"),
        (_with_narration("n").replace('"end_line": 4', '"end_line": -1e999'), "whole-number"),
        (_with_narration("n").replace('"end_line": 4', '"end_line": NaN'), "whole-number"),
        (_with_narration("n").replace('"end_line": 4', '"end_line": 4.5'), "whole-number"),
        (_with_narration("n").replace('"end_line": 4', '"end_line": true'), "whole-number"),
        (_with_narration("n").replace('"end_line": 4', '"end_line": ' + "9" * 5000), "unusable value"),
        (_with_narration("n").replace('"end_line": 4', '"end_line": "' + "9" * 5000 + '"'), "whole-number"),
    ],
    ids=[
        "deep-list",
        "deep-object",
        "1e999",
        "-1e999",
        "nan",
        "fraction",
        "bool",
        "5000-digits",
        "digit-string",
    ],
)
def test_hostile_json_is_a_reply_error(text: str, problem: str) -> None:
    with pytest.raises(ReplyError, match=problem):
        parse_chapter(text, "batch 1")


def test_whole_numbers_as_floats_or_strings_are_lines() -> None:
    text = (
        _with_narration("n")
        .replace('"start_line": 1', '"start_line": 2.0')
        .replace('"end_line": 4', '"end_line": "7"')
    )
    assert parse_chapter(text, "batch 1").scenes[0].anchors == (Anchor("src/p.py", 2, 7),)
