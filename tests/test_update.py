"""`run --update` and `--redo`: the previous lesson's chapters reused as history, only what changed asked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fake_openai import ChapterResponder, FakeServer, RecordedRequest, file_tags
from helpers import assert_one_line_error, make_repo
from lessons import LessonResponder
from typer.testing import CliRunner, Result

from lessongen.cli import app

KEY = "test-key-" + "u" * 12  # not key-shaped
INTRO = ("intro",)
Batches = list[tuple[str, ...]]


def invoke(server: FakeServer, command: str, repo: Path, out: Path, cache: Path, *args: str) -> Result:
    argv = [command, str(repo), "--base-url", server.base_url, "--output", str(out), "--no-git"]
    argv += ["--max-batch-tokens", "800", "--secrets", "off", *args]
    if command == "run":
        argv += ["--formats", "none", "--max-retries", "0"]
    env = {
        "OPENAI_API_KEY": KEY,
        "COLUMNS": "120",
        "NO_COLOR": "1",
        "LESSONGEN_LOCAL": "false",
        "LESSONGEN_CACHE_DIR": str(cache),
    }
    return CliRunner().invoke(app, argv, env=env)


def asked(requests: list[RecordedRequest]) -> Batches:
    """What each chat call asked for: the files of the batch it carried, or ('intro',)."""
    out: Batches = []
    for request in requests:
        last = str(request.messages[-1].get("content") or "")
        files = tuple(dict.fromkeys(path for path, _, _ in file_tags(last)))
        out.append(files or INTRO)
    return out


class Lesson:
    """A repository and its finished lesson, with a fake server for the next run."""

    def __init__(self, root: Path, server: FakeServer) -> None:
        self.root, self.server = root, server
        self.repo, self.out, self.cache = root / "repo", root / "lesson", root / "cache"
        self.before_batches = self.batches()
        self.before_texts = self.texts()
        self.before_script = self.script()

    def run(self, *args: str, command: str = "run") -> tuple[Result, Batches]:
        seen = len(self.server.chat_requests)
        result = invoke(self.server, command, self.repo, self.out, self.cache, *args)
        return result, asked(self.server.chat_requests[seen:])

    def batches(self) -> Batches:
        result = invoke(self.server, "plan", self.repo, self.root / "planned", self.cache, "--json")
        assert result.exit_code == 0, result.stderr
        return [tuple(b["files"]) for b in json.loads(result.stdout)["batches"]]

    def texts(self) -> dict[str, str]:
        return {
            p.relative_to(self.repo).as_posix(): p.read_text() for p in self.repo.rglob("*") if p.is_file()
        }

    def script(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.out / "script.json").read_text())
        return data

    def changed(self) -> Batches:
        """The batches of the repository as it is now whose files or contents no earlier batch had."""
        old = {tuple((p, self.before_texts[p]) for p in b) for b in self.before_batches}
        now = self.texts()
        return [b for b in self.batches() if tuple((p, now.get(p)) for p in b) not in old]

    def check_reused(self, script: dict[str, Any], regenerated: Batches) -> None:
        """Every chapter of a batch not asked again is the previous lesson's chapter of the same files."""
        before = {b: c for b, c in zip(self.before_batches, self.before_script["chapters"][1:], strict=True)}
        now = self.batches()
        assert len(script["chapters"]) == len(now) + 1
        assert script["chapters"][0]["source"] == "intro"
        for number, (files, chapter) in enumerate(zip(now, script["chapters"][1:], strict=True), 1):
            assert chapter["source"] == f"batch {number}"
            if files in regenerated:
                assert chapter["scenes"] != before.get(files, {}).get("scenes"), files
            else:
                assert (chapter["title"], chapter["scenes"]) == (
                    before[files]["title"],
                    before[files]["scenes"],
                )


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished lesson of six batches and the intro (made once, copied for each test)."""
    root = tmp_path_factory.mktemp("made")
    make_repo(root / "repo", modules=6)
    with FakeServer() as server:
        result = invoke(server, "run", root / "repo", root / "lesson", root / "cache")
        assert result.exit_code == 0, result.stderr
        assert len(server.chat_requests) == 7
    return root


@pytest.fixture
def lesson(made: Path, tmp_path: Path, fake_openai: FakeServer) -> Lesson:
    shutil.copytree(made, tmp_path / "copy")
    fake_openai.responder = ChapterResponder()
    return Lesson(tmp_path / "copy", fake_openai)


def test_an_edit_asks_only_its_batch_and_the_intro(lesson: Lesson) -> None:
    path = lesson.repo / "pkg" / "mod3.py"
    path.write_text(path.read_text().replace("return w * h * 4", "return w * h * 40"))
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent == [("pkg/mod3.py",), INTRO]
    assert sent[:-1] == lesson.changed()
    script = lesson.script()
    lesson.check_reused(script, sent)
    assert [s["id"] for s in script["chapters"][4]["scenes"]] == ["c1s1"]  # asked in this run, call 1
    report = json.loads((lesson.out / "run.json").read_text())
    assert report["update"]["reused"] == [1, 2, 3, 5, 6]
    assert [(r["batch"], r["reason"]) for r in report["update"]["regenerated"]] == [
        (4, "changed"),
        (0, "intro"),
    ]
    assert len(report["calls"]) == 2


def test_the_regenerated_batch_builds_on_the_reused_chapters(lesson: Lesson) -> None:
    path = lesson.repo / "pkg" / "mod3.py"
    path.write_text(path.read_text() + "\n\ndef extra() -> int:\n    return 1\n")
    result, _ = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    batch_call = lesson.server.chat_requests[-2]
    history = [m["content"] for m in batch_call.messages if m["role"] == "assistant"]
    earlier = [json.loads(text) for text in history]
    # The three chapters before it, as the previous lesson's answers, in order.
    assert [c["title"] for c in earlier] == [c["title"] for c in lesson.before_script["chapters"][1:4]]


def test_code_moved_within_a_file_asks_that_batch(lesson: Lesson) -> None:
    path = lesson.repo / "pkg" / "mod2.py"
    lines = path.read_text().splitlines(keepends=True)
    assert lines[2].startswith("def area_2_0") and lines[5].startswith("def area_2_1")
    path.write_text("".join(lines[:2] + lines[5:] + lines[2:5]))  # the first function moves to the end
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent == [("pkg/mod2.py",), INTRO]
    lesson.check_reused(lesson.script(), sent)


def test_a_rename_asks_the_batches_it_changed(lesson: Lesson) -> None:
    (lesson.repo / "pkg" / "mod4.py").rename(lesson.repo / "pkg" / "mod9.py")
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent[-1] == INTRO and sent[:-1] == lesson.changed()
    assert any("pkg/mod9.py" in files for files in sent)
    script = lesson.script()
    lesson.check_reused(script, sent)
    shown = json.dumps(script["chapters"])
    assert "pkg/mod4.py" not in shown and "pkg/mod9.py" in shown


def test_a_deletion_drops_its_chapter_and_asks_only_the_intro(lesson: Lesson) -> None:
    (lesson.repo / "pkg" / "mod2.py").unlink()
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent[-1] == INTRO and sent[:-1] == lesson.changed()
    script = lesson.script()
    lesson.check_reused(script, sent)
    assert "pkg/mod2.py" not in json.dumps(script["chapters"])
    assert len(script["chapters"]) == 6  # the intro and five batches
    assert sent == [INTRO]  # its batch is gone, the others are unchanged
    assert "  dropped:     the previous Chapter 3 (its files are gone)" in result.stderr


def test_an_addition_is_asked_and_covered(lesson: Lesson) -> None:
    (lesson.repo / "pkg" / "extra.py").write_text('"""Extra."""\n\n\ndef extra() -> int:\n    return 1\n')
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent[-1] == INTRO and sent[:-1] == lesson.changed()
    assert any("pkg/extra.py" in files for files in sent)
    script = lesson.script()
    lesson.check_reused(script, sent)
    assert "pkg/extra.py" not in script["uncovered_files"]


def test_an_unchanged_repository_sends_nothing_and_keeps_the_lesson(lesson: Lesson) -> None:
    written = {name: (lesson.out / name).read_bytes() for name in ("script.json", "script.md", "run.json")}
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent == []
    assert "up to date" in result.stderr
    assert {name: (lesson.out / name).read_bytes() for name in written} == written


def test_a_stopped_update_keeps_the_lesson_and_a_rerun_pays_nothing_twice(lesson: Lesson) -> None:
    path = lesson.repo / "pkg" / "mod1.py"
    path.write_text(path.read_text() + "# edited\n")
    before = (lesson.out / "script.json").read_bytes()
    result, sent = lesson.run("--update", "--max-calls", "1")
    assert result.exit_code == 4, result.stderr
    assert sent == [("pkg/mod1.py",)]
    assert (lesson.out / "script.json").read_bytes() == before  # never replaced by a worse lesson
    result, sent = lesson.run("--update")
    assert result.exit_code == 0, result.stderr
    assert sent == [INTRO]  # the batch's answer is replayed from the journal
    lesson.check_reused(lesson.script(), [("pkg/mod1.py",)])


def test_an_update_with_other_settings_or_model_is_refused(lesson: Lesson) -> None:
    path = lesson.repo / "pkg" / "mod1.py"
    path.write_text(path.read_text() + "# edited\n")
    result, sent = lesson.run("--update", "--keep-recent", "2")
    assert_one_line_error(result, 2, "setting keep_recent changed")
    assert sent == []
    result, sent = lesson.run("--update", "--model", "gpt-4o")
    assert_one_line_error(result, 2, "model changed")
    assert sent == []


def test_update_with_resume_or_force_is_refused(lesson: Lesson) -> None:
    for flag in ("--resume", "--force"):
        result, sent = lesson.run("--update", flag)
        assert_one_line_error(result, 2, f"cannot be used with {flag}")
        assert sent == []


def test_the_dry_run_lists_reused_and_regenerated_chapters_and_the_cost(lesson: Lesson) -> None:
    path = lesson.repo / "pkg" / "mod3.py"
    path.write_text(path.read_text() + "# edited\n")
    for command, extra in (("plan", ()), ("run", ("--dry-run",))):
        result, sent = lesson.run("--update", *extra, command=command)
        assert result.exit_code == 0, result.stderr
        assert sent == []
        assert "update: 5 chapters reused, 1 regenerated, the introduction regenerated" in result.stdout
        assert "  reused:      chapters 1-3, 5-6" in result.stdout
        assert "  regenerated: chapter 4 (its files changed): pkg/mod3.py" in result.stdout
    result, _ = lesson.run("--update", "--json", command="plan")
    plan = json.loads(result.stdout)
    assert [c["label"] for c in plan["calls"]] == ["batch 4", "intro"]
    assert plan["update"]["reused"] == [1, 2, 3, 5, 6]
    full, _ = lesson.run("--json", command="plan")
    assert 0 < plan["totals"]["cost_usd"] < json.loads(full.stdout)["totals"]["cost_usd"] / 2


def test_the_dry_run_of_an_unchanged_repository_has_no_call(lesson: Lesson) -> None:
    result, sent = lesson.run("--update", command="plan")
    assert result.exit_code == 0, result.stderr
    assert sent == []
    assert (
        "verdict: fits: the lesson is up to date: every chapter is reused, nothing is sent" in result.stdout
    )


@pytest.fixture
def flagged(tmp_path: Path, fake_openai: FakeServer) -> Lesson:
    """A finished lesson whose chapter 3 is a flagged raw reply (its answer and the repair unusable)."""
    root = tmp_path / "flagged"
    make_repo(root / "repo", modules=6)
    fake_openai.responder = LessonResponder(frozenset({3, 4}))
    result = invoke(fake_openai, "run", root / "repo", root / "lesson", root / "cache")
    assert result.exit_code == 0, result.stderr
    fake_openai.responder = ChapterResponder()
    made = Lesson(root, fake_openai)
    assert [i for i, c in enumerate(made.before_script["chapters"]) if c["scenes"][0].get("flagged")] == [3]
    return made


def test_redo_flagged_asks_the_flagged_chapter_and_the_intro(flagged: Lesson) -> None:
    result, sent = flagged.run("--redo", "flagged")
    assert result.exit_code == 0, result.stderr
    assert sent == [("pkg/mod2.py",), INTRO]  # asked anew, though the journal holds its unusable answer
    script = flagged.script()
    assert not any(s.get("flagged") for c in script["chapters"] for s in c["scenes"])
    assert script["chapters"][3]["scenes"][0]["id"] == f"c{flagged.server.chat_requests[-2].call}s1"
    flagged.check_reused(script, sent)
    report = json.loads((flagged.out / "run.json").read_text())
    assert [(r["batch"], r["reason"]) for r in report["update"]["regenerated"]] == [
        (3, "flagged"),
        (0, "intro"),
    ]


def test_redo_a_chapter_by_its_number(lesson: Lesson) -> None:
    result, sent = lesson.run("--redo", "2")
    assert result.exit_code == 0, result.stderr
    assert sent == [("pkg/mod1.py",), INTRO]
    script = lesson.script()
    assert script["chapters"][2]["scenes"][0]["id"] == "c1s1"
    lesson.check_reused(script, sent)


def test_redo_the_intro_only(lesson: Lesson) -> None:
    result, sent = lesson.run("--redo", "intro")
    assert result.exit_code == 0, result.stderr
    assert sent == [INTRO]
    script = lesson.script()
    assert script["chapters"][0]["scenes"][0]["id"] == "c1s1"
    lesson.check_reused(script, [])


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("9", "--redo 9: the lesson has no chapter 9 (pass one of 1-6, intro or flagged)"),
        ("abc", "--redo abc"),
    ],
)
def test_redo_of_a_chapter_the_lesson_lacks_is_one_line(lesson: Lesson, value: str, needle: str) -> None:
    result, sent = lesson.run("--redo", value)
    assert_one_line_error(result, 2, needle)
    assert sent == []


def test_redo_flagged_with_nothing_flagged_sends_nothing(lesson: Lesson) -> None:
    result, sent = lesson.run("--redo", "flagged")
    assert result.exit_code == 0, result.stderr
    assert sent == []
    assert "up to date" in result.stderr


def test_update_of_an_empty_folder_makes_a_new_lesson(tmp_path: Path, fake_openai: FakeServer) -> None:
    repo = make_repo(tmp_path / "repo", modules=2)
    result = invoke(fake_openai, "run", repo, tmp_path / "lesson", tmp_path / "cache", "--update")
    assert result.exit_code == 0, result.stderr
    assert "nothing to update" in result.stderr
    assert len(fake_openai.chat_requests) == 3
    result = invoke(fake_openai, "run", repo, tmp_path / "other", tmp_path / "cache", "--redo", "1")
    assert_one_line_error(result, 2, "holds no lesson")


def test_a_lesson_without_its_record_or_with_another_script_is_refused(lesson: Lesson) -> None:
    record = lesson.out / ".lessongen" / "lesson.json"
    saved = record.read_text()
    record.unlink()
    result, sent = lesson.run("--update")
    assert_one_line_error(result, 2, "has no record of its batches")
    assert sent == []
    record.write_text(saved)
    script = lesson.script()
    script["chapters"] = script["chapters"][:-1]
    (lesson.out / "script.json").write_text(json.dumps(script))
    result, sent = lesson.run("--update")
    assert_one_line_error(result, 2, "does not match its record")
    assert sent == []
