"""The quality gate and how a flagged or stopped lesson reads: run.json, the final table, script.md, exit 7."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeServer, Fault, Reply
from helpers import make_repo
from test_run import check_script, run_cli

from lessongen.script.anchors import AnchorIssue
from lessongen.script.assemble import Script, chapter_headings, heading_line, script_markdown
from lessongen.script.quality import gate_failure, measure
from lessongen.script.scenes import Anchor, Chapter, Scene, flagged_chapter

INTRO = json.dumps(
    {
        "title": "Introduction",
        "scenes": [
            {"id": "i", "title": "t", "narration": "n " * 150, "anchors": [], "files": [], "visual_notes": ""}
        ],
    }
)
RAW = "Here is ```` a fence ```` and `ticks`; no chapter at all."


def unusable(request: Any) -> Reply:
    """A model that writes the intro but never a usable chapter."""
    return Reply(INTRO if "introduction" in request.messages[-1]["content"] else RAW)


def scene(anchors: int = 1) -> Scene:
    return Scene("s", "t", "word " * 150, tuple(Anchor("a.py", 1, 2) for _ in range(anchors)))


def test_measure_counts_flagged_chapters_and_dropped_anchors() -> None:
    good = Chapter("Good", (scene(3),), source="batch 1", batch=1)
    bad = flagged_chapter("raw", "batch 2", "the JSON is invalid")
    issues = (
        AnchorIssue("batch 1", "s", "b.py", "no such file", repaired=False),
        AnchorIssue("batch 1", "s", "a.py", "end clamped", repaired=True),
    )
    quality = measure(Script("x", (good, bad), issues))
    assert (quality.chapters, quality.flagged, quality.anchors, quality.dropped) == (2, ("batch 2",), 4, 1)
    assert quality.dropped_share == 0.25
    assert gate_failure(quality, 0.5) == "1 chapter flagged (batch 2)"
    clean = measure(Script("x", (good,), issues))
    assert gate_failure(clean, 0.25) == ""
    assert "1 of 4 anchors dropped" in gate_failure(clean, 0.2)


def test_a_flagged_reply_is_fenced_and_counts_for_no_time() -> None:
    chapters = (
        Chapter("Good", (scene(0),), source="batch 1", batch=1),
        flagged_chapter(RAW, "batch 2", "the JSON is invalid"),
    )
    text = script_markdown(Script("x", chapters), {})
    assert "Estimated length: 1:00" in text  # the good scene's 150 words only
    assert "`````text\n" + RAW + "\n`````" in text  # the fence is longer than the run of four inside
    assert "not narrated" in text


def test_chapters_are_numbered_from_one_with_or_without_an_intro() -> None:
    intro = Chapter("Introduction", (scene(0),), source="intro", batch=0)
    first = Chapter("Parsing", (scene(0),), source="batch 1", batch=1)
    assert chapter_headings((intro, first)) == ("Introduction", "Chapter 1")
    assert chapter_headings((first,)) == ("Chapter 1",)
    assert heading_line("Introduction", "Introduction") == "Introduction"
    assert heading_line("Chapter 1", "Parsing\nthe input") == "Chapter 1: Parsing the input"


def test_every_chapter_flagged_passes_without_strict_and_exits_7_with_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=2)
    with FakeServer(responder=unusable) as server:
        code, stdout, stderr = run_cli(server, repo, tmp_path / "lax")
        assert code == 0, stderr
        report = json.loads((tmp_path / "lax" / "run.json").read_text())
        assert report["quality"]["flagged_chapters"] == report["quality"]["chapters"] - 1  # all but the intro
        assert report["quality"]["strict"] is False and report["quality"]["gate_failure"]
        assert "quality: " in stdout and "not enforced without --strict" in stdout

        code, stdout, stderr = run_cli(server, repo, tmp_path / "strict", "--strict")
        assert code == 7
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "quality gate" in errors[0] and "flagged" in errors[0]
        assert "Traceback" not in stderr
        assert (tmp_path / "strict" / "script.md").exists()  # the lesson is written all the same

        (repo / "lessongen.toml").write_text("strict = true\n")
        code, _, _ = run_cli(server, repo, tmp_path / "config")
        assert code == 7


def test_strict_fails_on_too_many_dropped_anchors(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)

    def lost(request: Any) -> Reply:
        if "introduction" in request.messages[-1]["content"]:
            return Reply(INTRO)
        anchor = {"path": "nowhere.py", "start_line": 1, "end_line": 2}
        body = {
            "id": "s",
            "title": "t",
            "narration": "n",
            "anchors": [anchor],
            "files": [],
            "visual_notes": "",
        }
        return Reply(json.dumps({"title": "Lost", "scenes": [body]}))

    with FakeServer(responder=lost) as server:
        code, _, stderr = run_cli(server, repo, tmp_path / "a", "--strict")
        assert code == 7 and "anchors dropped" in stderr
        (repo / "lessongen.toml").write_text("max_dropped_anchors = 1.0\n")
        code, _, stderr = run_cli(server, repo, tmp_path / "b", "--strict")
        assert code == 0, stderr


def test_a_cut_off_reply_is_named_so_and_the_note_keeps_the_instruction_to_the_model(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)

    def cut(request: Any) -> Reply:
        if "introduction" in request.messages[-1]["content"]:
            return Reply(INTRO)
        return Reply('{"title": "Cut", "scenes": [{"id": "s", "narration": "and th', "length")

    with FakeServer(responder=cut) as server:
        code, _, stderr = run_cli(server, repo, tmp_path / "lesson")
        repair = [r for r in server.chat_requests if "fewer scenes" in r.messages[-1]["content"]]
    assert code == 0, stderr
    assert repair  # the model is told what to do
    script = check_script(repo, tmp_path / "lesson")
    flags = [s["flagged"] for c in script["chapters"] for s in c["scenes"] if "flagged" in s]
    assert flags and all("cut off before its closing brace" in f for f in flags)
    assert not any("fewer scenes" in f for f in flags)  # the instruction is not the reader's note
    report = json.loads((tmp_path / "lesson" / "run.json").read_text())
    assert not any("fewer scenes" in n for n in report["notes"])


@pytest.mark.parametrize("stop_at", [2])
def test_a_stopped_run_numbers_from_one_and_lists_what_is_not_covered_yet(
    tmp_path: Path, stop_at: int
) -> None:
    repo = make_repo(tmp_path / "repo", modules=4)
    out = tmp_path / "lesson"
    with FakeServer() as server:
        server.script(*([None] * (stop_at - 1)), Fault.context_exceeded())
        code, _, _ = run_cli(server, repo, out, "--max-batch-tokens", "800")
    assert code == 3
    text = (out / "script.md").read_text()
    assert "Chapter 0" not in text and "## Chapter 1: " in text
    assert "## Files not yet covered" in text and "`pkg/mod3.py`" in text
    assert "pkg/mod3.py" in json.loads((out / "run.json").read_text())["uncovered_files"]
