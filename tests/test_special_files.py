"""FIFOs, devices and bad bytes where lessongen reads config, ignore files, templates and caches."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

import pytest
from fake_openai import ChapterResponder, FakeServer
from helpers import TINY_TEMPLATES, assert_one_line_error, make_repo, seeded_cache, write
from typer.testing import CliRunner, Result

from lessongen.cli import app
from lessongen.shared.cache import CACHE_FILE

ENV = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}


class Hung(BaseException):
    """Raised in the test's main thread when it blocks too long."""


@pytest.fixture(autouse=True)
def _no_hang() -> Iterator[None]:
    """A read that blocks on a FIFO would hang the suite: fail the test instead."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung("blocked on a special file")  # not an OSError: no `except OSError` may swallow it

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def fifo(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)


def dev_zero(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to("/dev/zero")


def not_utf8(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"model = 'caf\xe9'\n")


SPECIAL: dict[str, Callable[[Path], None]] = {"fifo": fifo, "dev-zero": dev_zero}


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(app, list(args), env={**ENV, **(env or {})})


@pytest.mark.parametrize("kind", sorted(SPECIAL))
@pytest.mark.parametrize("where", [".gitignore", ".lessongenignore", "pkg/.gitignore", ".git/info/exclude"])
def test_special_ignore_files_are_not_read(tmp_path: Path, where: str, kind: str) -> None:
    repo = make_repo(tmp_path / "repo", modules=2, lines=6)
    (repo / ".git").mkdir()  # a plain checkout without git: .git/info/exclude is read directly
    SPECIAL[kind](repo / where)
    result = invoke("plan", str(repo), "--json")
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert '"path": "pkg/mod1.py",\n      "included": true' in result.stdout


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (fifo, "is a FIFO, not a regular file"),
        (dev_zero, "is a device, not a regular file"),
        (not_utf8, "is not valid UTF-8 (byte 13)"),
    ],
)
def test_prompt_template_must_be_a_regular_utf8_file(
    tmp_path: Path, make: Callable[[Path], None], needle: str
) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    prompts = write(tmp_path / "prompts", {f"{n}.md": t for n, t in TINY_TEMPLATES.items() if n != "batch"})
    make(prompts / "batch.md")
    result = invoke("plan", str(repo), "--prompts-dir", str(prompts))
    line = assert_one_line_error(result, 2, needle)
    assert "batch.md" in line


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (fifo, "is a FIFO, not a regular file"),
        (dev_zero, "is a device, not a regular file"),
        (not_utf8, "is not valid UTF-8 (byte 13)"),
    ],
)
def test_config_file_must_be_a_regular_utf8_file(
    tmp_path: Path, make: Callable[[Path], None], needle: str
) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    make(tmp_path / "custom.toml")
    line = assert_one_line_error(
        invoke("plan", str(repo), "--config", str(tmp_path / "custom.toml")), 2, needle
    )
    assert "custom.toml" in line


def test_lessongen_toml_with_invalid_utf8_is_one_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    not_utf8(repo / "lessongen.toml")
    assert_one_line_error(invoke("plan", str(repo)), 2, "lessongen.toml is not valid UTF-8 (byte 13)")


@pytest.mark.parametrize(
    ("pyproject", "needle"),
    [('tool = "x"\n', "`tool` in"), ("[tool]\nlessongen = 3\n", "`tool.lessongen` in")],
)
def test_pyproject_tool_of_the_wrong_type_is_one_line(tmp_path: Path, pyproject: str, needle: str) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    (repo / "pyproject.toml").write_text(pyproject)
    line = assert_one_line_error(invoke("plan", str(repo)), 2, needle)
    assert "must be a table" in line
    assert_one_line_error(invoke("plan", str(repo), "--config", str(repo / "pyproject.toml")), 2, needle)


@pytest.mark.parametrize(
    ("key", "value"), [("max_cost", "nan"), ("preflight_limit", "nan"), ("max_cost", "inf")]
)
def test_non_finite_numbers_are_refused_from_file_flag_and_environment(
    tmp_path: Path, key: str, value: str
) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    flag = "--" + key.replace("_", "-")
    via_flag = invoke("plan", str(repo), flag, value)
    assert_one_line_error(via_flag, 2, f"invalid {key} in {flag}: expected a finite number")
    via_env = invoke("plan", str(repo), env={"LESSONGEN_" + key.upper(): value})
    assert_one_line_error(via_env, 2, f"invalid {key} in LESSONGEN_{key.upper()}: expected a finite number")
    (repo / "lessongen.toml").write_text(f"{key} = {value.lower()}\n")  # TOML's own nan / inf literals
    assert_one_line_error(invoke("plan", str(repo)), 2, f"invalid {key} in lessongen.toml")


@pytest.mark.parametrize("kind", sorted(SPECIAL))
def test_a_special_cache_file_is_ignored(fake_openai: FakeServer, tmp_path: Path, kind: str) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    cache = seeded_cache(tmp_path / "cache")
    SPECIAL[kind](cache / CACHE_FILE)  # token counts, windows and response formats
    fake_openai.responder = ChapterResponder()
    result = invoke(
        "run",
        str(repo),
        "--base-url",
        fake_openai.base_url,
        "--output",
        str(tmp_path / "lesson"),
        "--cache-dir",
        str(cache),
        env={"OPENAI_API_KEY": "test-key-not-real"},
    )
    assert result.exit_code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert len(fake_openai.chat_requests) == 2  # the batch and the intro, nothing more
    assert (tmp_path / "lesson" / "script.json").is_file()


def test_a_latin1_source_file_is_decoded_and_the_plan_says_so(tmp_path: Path) -> None:
    repo = write(tmp_path / "repo", {"cafe.py": b'name = "caf\xe9"\n', "ok.py": "x = 1\n"})
    report = invoke("plan", str(repo), "--json")
    assert report.exit_code == 0, report.stderr
    files = {f["path"]: f for f in json.loads(report.stdout)["files"]}
    assert files["cafe.py"]["included"] is True
    assert files["cafe.py"]["detail"] == "not UTF-8: decoded as cp1252"
    shown = invoke("plan", str(repo))
    assert "note: cafe.py: not UTF-8: decoded as cp1252" in shown.stdout
