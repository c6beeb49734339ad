"""lessongen's own output folders inside a repository are never read as source, and resume still works."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeServer
from helpers import make_repo, write
from test_saved_state import SameAnswers, run
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.shared.layout import LESSON_FILES, RENDERED_DIRS, STATE_DIR

OWN = "lessongen output"


def plan(repo: Path, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["plan", str(repo), "--json", "--no-git", "--max-batch-tokens", "800", *args]
    )
    assert result.exit_code == 0, result.stderr
    return dict(json.loads(result.stdout))


def reasons(report: dict[str, Any]) -> dict[str, str | None]:
    return {f["path"]: f["reason"] for f in report["files"]}


@pytest.mark.parametrize("inside", ["lesson", "."])
def test_output_inside_the_repository_is_left_out_and_resume_works(
    fake_openai: FakeServer, tmp_path: Path, inside: str
) -> None:
    repo = make_repo(tmp_path / "repo")
    out = (repo / inside).resolve()
    fake_openai.responder = SameAnswers()
    before = plan(repo, "--output", str(out))
    calls = len(before["calls"])
    stopped = run(fake_openai, repo, out, "--max-calls", "2")
    assert stopped.exit_code == 4, stderr_of(stopped)
    after = plan(repo, "--output", str(out))
    paths = reasons(after)
    own = sorted(p for p, r in paths.items() if r == OWN)
    written = [STATE_DIR + "/", *LESSON_FILES, *(d + "/" for d in RENDERED_DIRS if (out / d).is_dir())]
    expected = ["lesson/"] if inside == "lesson" else sorted(written)
    assert own == expected
    assert [f for f in after["files"] if f["included"]] == [f for f in before["files"] if f["included"]]
    resumed = run(fake_openai, repo, out, "--resume")
    assert resumed.exit_code == 0, stderr_of(resumed)
    assert "resuming: 2 calls replayed from 2 saved answers" in resumed.stderr
    assert len(fake_openai.chat_requests) == calls  # nothing sent twice
    assert all("lessongen/" not in m["content"] for r in fake_openai.chat_requests for m in r.messages)


def stderr_of(result: Any) -> str:
    return str(result.stderr)


def test_a_committed_lesson_elsewhere_in_the_tree_is_left_out(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    fake_openai.responder = SameAnswers()
    assert run(fake_openai, repo, tmp_path / "made").exit_code == 0
    shutil.copytree(tmp_path / "made", repo / "docs" / "lesson")  # committed, as the CI example does
    write(repo, {"notes/.lessongen/manifest.json": "{}\n", "notes/keep.md": "# kept?\n"})
    paths = reasons(plan(repo, "--output", str(tmp_path / "elsewhere")))
    assert paths["docs/lesson/"] == OWN
    assert paths["notes/"] == OWN  # any folder holding a state folder is a lesson folder
    assert not any(
        p.startswith(("docs/lesson/", "notes/")) for p in paths if p not in ("docs/lesson/", "notes/")
    )
    assert paths["pkg/mod0.py"] is None
