"""Small things a user trips over: plan --max-calls, -o FILE, --base-url not-a-url, did you mean, --local --model."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_openai import FakeServer
from helpers import assert_one_line_error, make_repo
from test_run import run_cli
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.models.local import local_available

ENV = {"COLUMNS": "120", "NO_COLOR": "1"}


def test_plan_accepts_max_calls_as_run_dry_run_does(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    for command in (["plan", str(repo)], ["run", str(repo), "--dry-run"]):
        result = CliRunner().invoke(app, [*command, "--max-calls", "3", "--no-local"], env=ENV)
        assert result.exit_code == 0, result.stderr


@pytest.mark.parametrize("value", ["not-a-url", "ftp://host/v1", "http://"])
def test_a_base_url_that_is_not_a_url_is_one_line(tmp_path: Path, value: str) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    result = CliRunner().invoke(app, ["plan", str(repo), "--base-url", value], env=ENV)
    assert_one_line_error(result, 2, "base_url")


def test_an_unknown_model_close_to_a_known_one_gets_did_you_mean(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    result = CliRunner().invoke(app, ["plan", str(repo), "--model", "gpt4o-mini", "--no-local"], env=ENV)
    line = assert_one_line_error(result, 2, "unknown")
    assert "did you mean 'gpt-4o-mini'?" in line


def test_output_that_is_a_file_says_so_and_saves_nothing(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    target = tmp_path / "somefile"
    target.write_text("mine\n")
    code, _, stderr = run_cli(fake_openai, repo, target)
    assert code == 6
    assert "is a file, not a folder" in stderr and "--resume" not in stderr and "disk" not in stderr
    assert target.read_text() == "mine\n" and not fake_openai.chat_requests


@pytest.mark.skipif(not local_available(), reason="the local extra is not installed")
def test_local_with_a_model_name_says_the_name_is_ignored(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    result = CliRunner().invoke(
        app, ["plan", str(repo), "--local", "--no-probe", "--model", "gpt-4o"], env=ENV
    )
    assert "--model gpt-4o is ignored" in result.stderr
