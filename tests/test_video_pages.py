"""The video's pure parts: narration made speakable, pages of anchored code, the extra's check."""

from __future__ import annotations

import pytest

from lessongen.errors import UsageError
from lessongen.render.base import timeline
from lessongen.render.video.encode import Chapter, chapters_file
from lessongen.render.video.narration import speakable
from lessongen.render.video.pages import LINES_PER_PAGE, scene_pages
from lessongen.render.video.renderer import require_extra
from lessongen.script.assemble import Script, script_markdown
from lessongen.script.scenes import Anchor, Scene
from lessongen.script.scenes import Chapter as ScriptChapter


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("The `load_config()` function reads it.", "The load config function reads it."),
        ("See src/app/config.py first.", "See src slash app slash config dot python first."),
        ("parseHTTPResponse returns x == 3 -> bool.", "parse HTTP response returns x equals 3 returns bool."),
        ("It sets MAX_SIZE and os.path.join.", "It sets MAX SIZE and os path join."),
        ("Version 3.11 is **required**.", "Version 3.11 is required."),
        ("Keys {a: [1]} <b>", "Keys a: 1 b"),
    ],
)
def test_narration_is_spoken_as_prose(text: str, spoken: str) -> None:
    assert speakable(text) == spoken


def test_long_excerpts_split_across_frames_with_the_anchored_lines_marked() -> None:
    code = "".join(f"line {n}\n" for n in range(1, 61))
    scene = Scene("s", "Long", "Words.", (Anchor("a.py", 10, 40), Anchor("gone.py", 1, 2)))
    slot = timeline(Script("t", (ScriptChapter("c", (scene,), "intro"),)))[0]
    pages = scene_pages(slot, {"a.py": code})
    shown = [line for page in pages for line in page.lines]
    assert [line.number for line in shown] == list(range(8, 43))  # two lines of context each side
    assert all(len(page.lines) <= LINES_PER_PAGE for page in pages) and len(pages) == 3
    assert [line.number for line in shown if line.anchored] == list(range(10, 41))
    assert pages[0].source == "a.py, lines 10-40 (1 of 3)"
    assert all(line.text == f"line {line.number}" for line in shown)


def test_a_scene_without_code_or_flagged_is_one_frame() -> None:
    plain = Scene("s", "Title\u202e", "Words.")
    flagged = Scene("f", "Raw", "{raw", flagged="not JSON")
    slots = timeline(Script("t", (ScriptChapter("c", (plain, flagged), "intro"),)))
    assert [len(scene_pages(s, {})) for s in slots] == [1, 1]
    assert "\u202e" not in scene_pages(slots[0], {})[0].title
    assert "flagged" in scene_pages(slots[1], {})[0].source


def test_chapter_titles_are_escaped_in_the_metadata() -> None:
    text = chapters_file("A=b", [Chapter("x;y#z\nw", 0, 1000)])
    assert "title=A\\=b" in text and "title=x\\;y\\#z w" in text


def test_a_missing_extra_is_one_line_naming_the_install() -> None:
    with pytest.raises(UsageError) as caught:
        require_extra("joe-us", lambda name: None if name == "piper" else object())
    assert "piper-tts" in str(caught.value) and "lessongen[video]" in caught.value.hint
    require_extra("joe-us", lambda name: object())  # everything there: no error


# Characters str.splitlines() ends a line at, though a file's lines (and so anchors) end only at "\n".
@pytest.mark.parametrize("breaker", ["\f", "\r", "\v", "\x1c", "\x85", "\u2028"])
def test_frames_and_the_script_number_lines_as_anchors_do(breaker: str) -> None:
    code = f"first{breaker}still first\nsecond\nthird\nfourth\n"
    script = Script(
        "t", (ScriptChapter("c", (Scene("s", "Odd", "Words.", (Anchor("a.py", 3, 3),)),), "intro"),)
    )
    (page,) = scene_pages(timeline(script)[0], {"a.py": code})
    assert [(line.number, line.text) for line in page.lines if line.anchored] == [(3, "third")]
    assert [line.number for line in page.lines] == [1, 2, 3, 4]
    assert "```python\nthird\n```" in script_markdown(script, {"a.py": code})
