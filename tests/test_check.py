"""`lessongen check`: a real lesson (a real run against the fake server), its repository edited on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fake_openai import ChapterResponder
from helpers import assert_one_line_error
from lessons import cli, make_lesson, script_of
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.errors import ExitCode

SCHEMA = json.loads((Path(__file__).parents[1] / "lessongen" / "script" / "script.schema.json").read_text())
STALE = int(ExitCode.STALE)


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One lesson of a small repository: anchors on lines 1-5 of README.md, pkg/mod0..3.py, a test."""
    repo, lesson, code = make_lesson(tmp_path_factory.mktemp("made"), ChapterResponder())
    assert code == 0
    return repo, lesson


@pytest.fixture
def copy(made: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """The repository and its lesson, copied: each test edits its own."""
    repo, lesson = made
    shutil.copytree(repo, tmp_path / "repo", symlinks=True)
    shutil.copytree(lesson, tmp_path / "lesson", symlinks=True)
    return tmp_path / "repo", tmp_path / "lesson"


def check(repo: Path, lesson: Path, *args: str) -> tuple[int, str, str]:
    return cli(["check", str(lesson), "--repo", str(repo), *args], lesson.parent / "cache")


def report(repo: Path, lesson: Path, *args: str) -> tuple[int, dict[str, Any]]:
    code, out, err = check(repo, lesson, "--json", *args)
    assert "Traceback" not in err
    return code, json.loads(out)


def states(data: dict[str, Any]) -> dict[str, str]:
    return {a["path"]: a["state"] for a in data["anchors"]}


def anchors(lesson: Path) -> dict[str, list[dict[str, Any]]]:
    """script.json's anchors by scene id."""
    script = script_of(lesson)
    return {s["id"]: s["anchors"] for c in script["chapters"] for s in c["scenes"]}


ALL_OK = {
    "README.md": "ok",
    "pkg/mod0.py": "ok",
    "pkg/mod1.py": "ok",
    "pkg/mod2.py": "ok",
    "pkg/mod3.py": "ok",
    "tests/test_mod0.py": "ok",
}


def test_the_lesson_pins_every_anchor(made: tuple[Path, Path]) -> None:
    script = script_of(made[1])
    jsonschema.validate(script, SCHEMA)
    assert script["schema_version"] == 2
    pins = [a["pin"] for a in (a for group in anchors(made[1]).values() for a in group)]
    assert len(pins) == len(ALL_OK) and all(len(p["each_line"].split()) in (3, 5) for p in pins)


def test_an_unchanged_repository_is_current(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    code, out, err = check(repo, lesson)
    assert (code, err) == (0, "")
    assert out.splitlines() == [f"{lesson} against {repo}:", "6 anchors: 6 ok"]
    code, data = report(repo, lesson)
    assert code == 0 and states(data) == ALL_OK
    assert data["stale"] is False and data["counts"]["ok"] == 6


def test_the_default_lesson_folder_and_the_recorded_repository(
    made: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo, lesson = made
    monkeypatch.chdir(lesson.parent)  # lesson/ is the default output folder; run.json names the repository
    code, out, _ = cli(["check"], lesson.parent / "cache")
    assert code == 0, out
    assert out.splitlines()[0] == f"{Path.cwd() / 'lesson'} against {repo}:"


def test_unrelated_files_added_leave_the_lesson_current(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    (repo / "pkg" / "extra.py").write_text('"""Module 0."""\n\nNEW = 1\n')
    (repo / "docs").mkdir()
    (repo / "docs" / "guide.md").write_text("# A guide\n")
    code, data = report(repo, lesson)
    assert code == 0 and states(data) == ALL_OK


def test_an_edit_inside_an_anchor_is_changed_and_fix_leaves_it(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    module = repo / "pkg" / "mod1.py"
    module.write_text(module.read_text().replace("return w * h * 0\n", "return abs(w * h) * 0\n", 1))
    before = script_of(lesson)
    code, data = report(repo, lesson)
    assert code == STALE and states(data) == {**ALL_OK, "pkg/mod1.py": "changed"}
    changed = next(a for a in data["anchors"] if a["state"] == "changed")
    assert changed["now"] == {"path": "pkg/mod1.py", "start_line": 1, "end_line": 5}
    assert changed["likeness"] == 0.8 and data["stale"] is True
    code, out, _ = check(repo, lesson)
    assert code == STALE
    assert (
        "changed      Chapter 2 / c2s1: pkg/mod1.py:1-5 (80% of its lines left, now about pkg/mod1.py:1-5)"
        in out
    )
    assert "lessongen run --update" in out
    code, _, _ = check(repo, lesson, "--fix")
    assert code == STALE and script_of(lesson) == before  # nothing moved: nothing rewritten


def test_code_moved_within_a_file_is_relocated_by_fix(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    module = repo / "pkg" / "mod2.py"
    module.write_text("# Copyright the shapes authors.\n# Licensed as the rest.\n\n" + module.read_text())
    code, data = report(repo, lesson)
    assert code == STALE and states(data) == {**ALL_OK, "pkg/mod2.py": "moved"}
    moved = next(a for a in data["anchors"] if a["state"] == "moved")
    assert moved["now"] == {"path": "pkg/mod2.py", "start_line": 4, "end_line": 8}
    old = anchors(lesson)["c3s1"][0]
    page = (lesson / "site" / "index.html").read_text()

    code, out, _ = check(repo, lesson, "--fix")
    assert code == 0, out
    assert "relocated 1 moved anchor in the lesson's files" in out
    new = anchors(lesson)["c3s1"][0]
    assert (new["path"], new["start_line"], new["end_line"]) == ("pkg/mod2.py", 4, 8)
    assert new["pin"]["lines"] == old["pin"]["lines"] and new["pin"]["before"] != old["pin"]["before"]
    jsonschema.validate(script_of(lesson), SCHEMA)
    assert "`pkg/mod2.py` lines 4-8:" in (lesson / "script.md").read_text()
    assert (lesson / "site" / "index.html").read_text() != page  # the web lesson rendered again
    tour = json.loads(next((lesson / ".tours").glob("03-*.tour")).read_text())
    assert [s.get("line") for s in tour["steps"] if s.get("file") == "pkg/mod2.py"] == [8]
    assert not list(lesson.glob(".*.tmp")) and not list(lesson.glob("*.tmp"))
    code, data = report(repo, lesson)
    assert code == 0 and states(data) == ALL_OK


def test_a_renamed_file_is_moved_to_its_new_path(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    (repo / "pkg" / "mod3.py").rename(repo / "pkg" / "rectangles.py")
    code, data = report(repo, lesson)
    assert code == STALE and states(data) == {**ALL_OK, "pkg/mod3.py": "moved"}
    moved = next(a for a in data["anchors"] if a["state"] == "moved")
    assert moved["now"] == {"path": "pkg/rectangles.py", "start_line": 1, "end_line": 5}
    code, _, _ = check(repo, lesson, "--fix")
    assert code == 0
    scene = next(s for c in script_of(lesson)["chapters"] for s in c["scenes"] if s["id"] == "c4s1")
    assert [a["path"] for a in scene["anchors"]] == ["pkg/rectangles.py"]
    assert scene["files"] == ["pkg/rectangles.py"]
    assert "`pkg/rectangles.py` lines 1-5:" in (lesson / "script.md").read_text()
    fixed = {("pkg/rectangles.py" if p == "pkg/mod3.py" else p): s for p, s in ALL_OK.items()}
    assert report(repo, lesson)[0] == 0 and states(report(repo, lesson)[1]) == fixed


def test_deleted_code_is_gone_and_a_deleted_file_is_missing(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    module = repo / "pkg" / "mod0.py"
    module.write_text("CONSTANT = 1\n\n\ndef other() -> int:\n    return CONSTANT\n")
    (repo / "tests" / "test_mod0.py").unlink()
    before = script_of(lesson)
    code, data = report(repo, lesson, "--fix")
    assert code == STALE
    assert states(data) == {**ALL_OK, "pkg/mod0.py": "gone", "tests/test_mod0.py": "file missing"}
    assert data["counts"] == {
        "ok": 4,
        "moved": 0,
        "changed": 0,
        "gone": 1,
        "file missing": 1,
        "unpinned": 0,
    }
    assert script_of(lesson) == before
    code, out, _ = check(repo, lesson)
    assert "gone         Chapter 1 / c1s2: pkg/mod0.py:1-5" in out.splitlines()
    assert "file missing Chapter 4 / c4s2: tests/test_mod0.py:1-5" in out.splitlines()


def test_a_lesson_written_before_pins_is_unpinned_not_stale(copy: tuple[Path, Path]) -> None:
    repo, lesson = copy
    script = script_of(lesson)
    script["schema_version"] = 1
    for chapter in script["chapters"]:
        for scene in chapter["scenes"]:
            for anchor in scene["anchors"]:
                del anchor["pin"]
    (lesson / "script.json").write_text(json.dumps(script))
    (repo / "pkg" / "mod2.py").write_text("# edited\n")
    code, out, _ = check(repo, lesson)
    assert code == 0
    assert "6 anchors: 0 ok, 6 unpinned" in out
    assert "unpinned anchors come from a lesson written before pins: a new run pins them" in out


@pytest.mark.parametrize(
    ("setup", "needle"),
    [
        ("empty", "no lesson in"),
        ("damaged", "is not a lessongen script"),
    ],
)
def test_a_folder_without_a_lesson_is_a_usage_error(tmp_path: Path, setup: str, needle: str) -> None:
    folder = tmp_path / "nothing"
    folder.mkdir()
    if setup == "damaged":
        (folder / "script.json").write_text('{"schema_version": 2, "title": "t"}')
    result = CliRunner().invoke(
        app, ["check", str(folder), "--repo", str(tmp_path)], env={"NO_COLOR": "1", "COLUMNS": "120"}
    )
    assert_one_line_error(result, int(ExitCode.USAGE), needle)
