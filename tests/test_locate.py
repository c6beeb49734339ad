"""Pins and finding pinned lines again: pure functions over file texts, no disk."""

from __future__ import annotations

import pytest

from lessongen.script.assemble import Script
from lessongen.script.check import check_script, relocated, report_json
from lessongen.script.locate import AnchorState, FileLines, locate
from lessongen.script.pins import lines_digest, pin_chapters, pin_for
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.data import file_lines

BODY = ["def area(w, h):", "    '''The area.'''", "    return w * h"]
HEAD = ["import math", "", ""]
TAIL = ["", "", "def side(a):", "    return math.sqrt(a)"]
TEXT = "\n".join(HEAD + BODY + TAIL) + "\n"


def pinned(text: str = TEXT, path: str = "geo.py", start: int = 4, end: int = 6) -> Anchor:
    return Anchor(path, start, end, pin_for(file_lines(text), start, end))


def lines_of(path: str, text: str) -> FileLines:
    return FileLines.of(path, text)


def test_a_pin_records_the_lines_and_their_context() -> None:
    pin = pin_for(file_lines(TEXT), 4, 6)
    assert pin.lines == lines_digest(BODY)
    assert pin.before == lines_digest(HEAD)
    assert pin.after == lines_digest(TAIL[:3])
    assert len(pin.each_line) == 3 and len(set(pin.each_line)) == 3


def test_lines_in_place_are_ok_even_with_trailing_blanks_or_crlf() -> None:
    anchor = pinned()
    assert locate(anchor, lines_of("geo.py", TEXT)).state is AnchorState.OK
    blanks = TEXT.replace("return w * h", "return w * h  \r")
    assert locate(anchor, lines_of("geo.py", blanks)).state is AnchorState.OK


def test_code_moved_down_is_found_and_pinned_at_its_new_lines() -> None:
    moved = "\n".join(["# a new comment", "CONST = 3", *HEAD, *BODY, *TAIL]) + "\n"
    found = locate(pinned(), lines_of("geo.py", moved))
    assert found.state is AnchorState.MOVED
    assert found.anchor == pinned(moved, start=6, end=8)


def test_the_context_picks_the_right_copy_of_repeated_lines() -> None:
    copy = ["class Other:", "    pass", "", ""]  # the first copy is nearer line 4, the second has its context
    text = "\n".join(copy + BODY + ["", "# between"] + HEAD + BODY + TAIL) + "\n"
    found = locate(pinned(), lines_of("geo.py", text))
    assert found.state is AnchorState.MOVED and found.anchor is not None
    assert (found.anchor.start_line, found.anchor.end_line) == (13, 15)
    first = locate(pinned(), lines_of("geo.py", "\n".join(copy + BODY) + "\n"))
    assert first.anchor is not None and first.anchor.start_line == 5  # the only copy, other context


def test_an_edit_inside_the_lines_is_changed_with_how_much_is_left() -> None:
    edited = TEXT.replace("return w * h", "return abs(w * h)")
    found = locate(pinned(), lines_of("geo.py", edited))
    assert found.state is AnchorState.CHANGED
    assert found.likeness == pytest.approx(2 / 3, abs=0.01)
    assert found.anchor is not None and found.anchor.start_line == 4


def test_lines_deleted_from_their_file_are_gone() -> None:
    rest = "\n".join(HEAD + TAIL) + "\n"
    assert locate(pinned(), lines_of("geo.py", rest)).state is AnchorState.GONE


def test_a_renamed_file_is_found_among_the_others_only_when_asked() -> None:
    asked: list[int] = []

    def others() -> dict[str, FileLines]:
        asked.append(1)
        return {"shapes/geo.py": lines_of("shapes/geo.py", TEXT), "b.py": lines_of("b.py", "x = 1\n")}

    assert locate(pinned(), lines_of("geo.py", TEXT), others).state is AnchorState.OK
    assert not asked
    found = locate(pinned(), None, others)
    assert found.state is AnchorState.MOVED and asked
    assert found.anchor == pinned(path="shapes/geo.py")
    assert (
        locate(pinned(), None, lambda: {"b.py": lines_of("b.py", "x = 1\n")}).state
        is AnchorState.FILE_MISSING
    )


def test_code_moved_to_another_file_is_found_there() -> None:
    rest = "\n".join(HEAD + TAIL) + "\n"
    found = locate(pinned(), lines_of("geo.py", rest), lambda: {"area.py": lines_of("area.py", TEXT)})
    assert found.state is AnchorState.MOVED and found.anchor is not None and found.anchor.path == "area.py"


def test_an_anchor_without_a_pin_is_unpinned_not_stale() -> None:
    found = locate(Anchor("geo.py", 1, 2), None)
    assert found.state is AnchorState.UNPINNED and not found.state.stale


def _script(*anchors: Anchor) -> Script:
    scene = Scene("s1", "Area", "Words.", anchors=anchors, files=tuple(a.path for a in anchors))
    return Script("t", (Chapter("Intro", (scene,), "intro"),))


def test_a_script_is_pinned_at_assembly_and_relocated_by_its_report() -> None:
    script = Script("t", pin_chapters(_script(Anchor("geo.py", 4, 6)).chapters, {"geo.py": TEXT}))
    assert script.chapters[0].scenes[0].anchors == (pinned(),)
    files = {"shapes/geo.py": TEXT}
    report = check_script(script, lambda path, _: None, lambda: {p: lines_of(p, t) for p, t in files.items()})
    assert report.stale and not report.unfixable
    assert report_json(report)["anchors"][0]["now"] == {
        "path": "shapes/geo.py",
        "start_line": 4,
        "end_line": 6,
    }
    fixed = relocated(script, report).chapters[0].scenes[0]
    assert fixed.anchors == (pinned(path="shapes/geo.py"),)
    assert fixed.files == ("shapes/geo.py",)


def test_a_secret_line_is_compared_as_the_run_sent_it() -> None:
    sent = TEXT.replace("'''The area.'''", "KEY = '[REDACTED:aws]'")
    raw = TEXT.replace("'''The area.'''", "KEY = 'AKIA-the-real-one'")
    read = {False: raw, True: sent}
    script = _script(pinned(sent))
    report = check_script(script, lambda path, redacted: lines_of(path, read[redacted]), dict)
    assert [c.found.state for c in report.checks] == [AnchorState.OK]
