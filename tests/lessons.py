"""Lessons for the render tests, made by a real `lessongen run` against the fake server."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from fake_openai import ChapterResponder, FakeServer, RecordedRequest, Reply
from helpers import make_repo, seeded_cache
from typer.testing import CliRunner

from lessongen.cli import app

KEY = "sk-test-" + "r" * 24  # built at run time, never a real key
# Model text a hostile or confused model might write: markup, a script, a CodeTour command link, a
# shell line, a caption timing arrow and entities. Every format must show it as text.
HOSTILE = (
    '<script>window.__pwned = 1</script><img src="x" onerror="window.__pwned = 2"> '
    "[run it](command:workbench.action.terminal.sendSequence) --> &amp; </script>"
)
HOSTILE_LINE = ">> rm -rf ~"


class LessonResponder(ChapterResponder):
    """The fake model, plus hostile text in every chapter, a bad anchor or two, and one unusable reply."""

    def __init__(self, garbage_calls: frozenset[int] = frozenset()) -> None:
        super().__init__()
        self.garbage_calls = garbage_calls

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.call in self.garbage_calls:
            return Reply("I would rather not answer in JSON today.")
        reply = super().__call__(request)
        try:
            data: dict[str, Any] = json.loads(reply.content)
        except ValueError:
            return reply  # a summary
        data["title"] += " </script><script>window.__pwned = 3</script>"
        scene = data["scenes"][0]
        scene["title"] += " <b>bold?</b>"
        scene["narration"] += f"\n\n{HOSTILE}\n{HOSTILE_LINE}"
        scene["visual_notes"] += " " + HOSTILE
        if scene["anchors"]:
            first = scene["anchors"][0]
            scene["anchors"].append({"path": first["path"], "start_line": 2, "end_line": 9999})  # clamped
            scene["anchors"].append({"path": "no/such/file.py", "start_line": 1, "end_line": 3})  # dropped
        return Reply(json.dumps(data))


def git_commit(repo: Path) -> str:
    """Make `repo` a git work tree with one commit; its id."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "start")
    return git("rev-parse", "HEAD")


def cli(argv: list[str], cache: Path, **env: str) -> tuple[int, str, str]:
    """Run lessongen with a clean environment; exit code, stdout, stderr."""
    env = {
        "LESSONGEN_LOCAL": "false",
        "LESSONGEN_CACHE_DIR": str(seeded_cache(cache)),
        "COLUMNS": "120",
        "NO_COLOR": "1",
        **env,
    }
    result = CliRunner().invoke(app, argv, env=env)
    return result.exit_code, result.stdout, result.stderr


def make_lesson(
    root: Path, responder: ChapterResponder | None = None, *args: str, git: bool = True
) -> tuple[Path, Path, int]:
    """A repository and the lesson `lessongen run` wrote of it: (repo, lesson folder, exit code)."""
    repo = make_repo(root / "repo", modules=4)
    if git:
        git_commit(repo)
    out = root / "lesson"
    with FakeServer(responder=responder or LessonResponder(frozenset({3, 4}))) as server:
        argv = [
            "run",
            str(repo),
            "--base-url",
            server.base_url,
            "--output",
            str(out),
            "--max-batch-tokens",
            "800",
        ]
        code, _, stderr = cli([*argv, *args], root / "cache", OPENAI_API_KEY=KEY)
    assert code in (0, 4), stderr
    return repo, out, code


def script_of(lesson: Path) -> dict[str, Any]:
    """script.json of a lesson."""
    data: dict[str, Any] = json.loads((lesson / "script.json").read_text())
    return data
