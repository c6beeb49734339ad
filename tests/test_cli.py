import json
import os
import re
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
import typer
from fake_openai import FakeServer
from helpers import TINY_TEMPLATES, Golden, assert_one_line_error, undated
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.config.flags import Flags
from lessongen.config.groups import HISTORY_KEYS, KEYS

ENV = {"COLUMNS": "100", "NO_COLOR": "1", "TERM": "dumb"}


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.stdout, result.stderr


def test_plan_fits_and_reports(sample_repo: Path) -> None:
    code, out, err = invoke("plan", str(sample_repo))
    assert code == 0, err
    assert "verdict: fits" in out
    assert "gitignore" in out and "image" in out
    assert "projected cost" in out and "peak context" in out
    assert err == ""


def test_json_report_has_the_documented_keys(sample_repo: Path) -> None:
    code, out, _ = invoke("plan", str(sample_repo), "--json")
    assert code == 0
    report = json.loads(out)
    for key in ("model", "context_window", "files", "batches", "calls", "totals", "verdict"):
        assert key in report
    files = {f["path"]: f for f in report["files"]}
    assert files["debug.log"] == {
        "path": "debug.log",
        "included": False,
        "tokens": None,
        "reason": "gitignore",
        "detail": None,
    }
    assert files["logo.png"]["reason"] == "image"
    assert files["src/calc/ops.py"]["included"] and files["src/calc/ops.py"]["tokens"] > 10
    assert [c["kind"] for c in report["calls"]] == ["batch", "intro"]
    assert report["batches"][0]["files"][0] == "README.md"
    assert report["batches"][0]["files"][-1] == "tests/test_ops.py"
    for key in (
        "files_included",
        "files_skipped",
        "source_tokens",
        "prompt_tokens",
        "cached_tokens",
        "reply_tokens",
        "peak_prompt_tokens",
        "cost_usd",
        "cost_usd_without_cache",
    ):
        assert key in report["totals"]
    assert report["totals"]["files_included"] == 4
    assert report["verdict"] == "fits"


def test_run_dry_run_equals_plan(sample_repo: Path) -> None:
    _, plan_out, _ = invoke("plan", str(sample_repo), "--json")
    code, run_out, _ = invoke("run", str(sample_repo), "--dry-run", "--json")
    assert code == 0 and json.loads(run_out) == json.loads(plan_out)


def test_does_not_fit_exit_code(sample_repo: Path) -> None:
    code, out, _ = invoke("plan", str(sample_repo), "--context-window", "1000", "--json")
    assert code == 3
    assert json.loads(out)["verdict"] == "does-not-fit"


def test_over_budget_exit_code(sample_repo: Path) -> None:
    code, out, _ = invoke("plan", str(sample_repo), "--max-cost", "0.0000001")
    assert code == 4
    assert "over-budget" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--keep-recent", "-1"], "invalid keep_recent in --keep-recent"),
        (["--model", "my-own-llm"], "--context-window"),
        (["--prompts-dir", "/nonexistent/prompts"], "prompts folder"),
    ],
)
def test_usage_errors_exit_2_with_one_line(sample_repo: Path, args: list[str], needle: str) -> None:
    code, out, err = invoke("plan", str(sample_repo), *args)
    assert code == 2
    assert needle in err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert "Traceback" not in err + out


def test_missing_path_exit_2(tmp_path: Path) -> None:
    code, _, err = invoke("plan", str(tmp_path / "missing"))
    assert code == 2 and "does not exist" in err


def test_empty_repository_exit_2(tmp_path: Path) -> None:
    code, out, _ = invoke("plan", str(tmp_path), "--json")
    assert code == 2
    assert json.loads(out)["verdict"] == "nothing-to-send"


def test_list_skipped(sample_repo: Path) -> None:
    code, out, _ = invoke("plan", str(sample_repo), "--list-skipped")
    assert code == 0
    assert "skipped paths" in out and "debug.log" in out


def test_terminal_report_golden(sample_repo: Path, tmp_path: Path, golden: Golden) -> None:
    prompts = tmp_path / "prompts"
    prompts.mkdir()
    for name, text in TINY_TEMPLATES.items():
        (prompts / f"{name}.md").write_text(text + "\n")
    code, out, _ = invoke(
        "plan", str(sample_repo), "--prompts-dir", str(prompts), "--max-batch-tokens", "300"
    )
    assert code == 0
    out = out.replace(str(sample_repo), "<repo>")
    golden.check("plan_sample.txt", undated(out))


def test_version() -> None:
    code, out, _ = invoke("--version")
    assert code == 0 and out.startswith("lessongen ")


def test_models_command_lists_server_windows_and_plan_uses_them(tmp_path: Path) -> None:
    from fake_local_servers import vllm_server

    with vllm_server({"qwen-coder": 32768}) as server:
        code, out, err = invoke("models", "--base-url", server.base_url, "--cache-dir", str(tmp_path))
        assert code == 0, err
        assert "qwen-coder" in out and "32,768" in out and "max_model_len" in out
        repo = tmp_path / "repo"
        repo.mkdir()
        (repo / "a.py").write_text("x = 1\n")
        code, out, err = invoke(
            "plan", str(repo), "--json", "--base-url", server.base_url, "--model", "qwen-coder"
        )
        assert code == 0, err
        report = json.loads(out)
        assert report["context_window"] == 32768
        assert report["context_window_source"] == "vLLM /v1/models max_model_len"
        assert report["prices_usd_per_million"]["source"] == "unpriced"  # not the window's provenance


def test_models_command_without_server_lists_the_catalog() -> None:
    code, out, _ = invoke("models")
    assert code == 0 and "gpt-4o-mini" in out and "128,000" in out


def test_models_command_unreachable_server_is_one_line(tmp_path: Path) -> None:
    from fake_local_servers import closed_port_url

    code, _, err = invoke("models", "--base-url", closed_port_url(), "--cache-dir", str(tmp_path))
    assert code == 5
    assert err.startswith("error: cannot reach") and err.count("\n") == 1


def test_every_history_setting_is_a_flag_of_run_and_plan() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name in ("run", "plan"):
        flags = {p.name for p in commands[name].params}
        assert set(HISTORY_KEYS) <= flags, name
    assert {f.name for f in fields(Flags)} <= set(KEYS)  # every flag fills a setting


def test_plan_takes_runs_options_less_those_of_a_live_run() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    run_opts, plan_opts = ({o for p in commands[n].params for o in p.opts} for n in ("run", "plan"))
    live = {"--dry-run", "--strict", "--timeout", "--max-retries", "--formats", "--resume", "--force"}
    assert plan_opts == run_opts - live
    code, _, err = invoke("plan", ".", "--timeout", "5")
    assert code == 2 and "No such option: --timeout" in err


@pytest.mark.parametrize("command", ["run", "render"])
def test_help_at_80_columns_shows_every_flag_whole(command: str) -> None:
    env = {**os.environ, "COLUMNS": "80", "NO_COLOR": "1"}
    shown = subprocess.run(
        [sys.executable, "-m", "lessongen", command, "--help"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert max(len(line) for line in shown.splitlines()) <= 80
    params = typer.main.get_command(app).commands[command].params  # type: ignore[attr-defined]
    names = [o for p in params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")]
    assert names
    for name in names:
        assert re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", shown), name


@pytest.mark.parametrize(
    ("args", "code", "verdict"),
    [
        (("--max-cost", "0.0000001"), 4, "over-budget"),
        (
            ("--context-window", "1000", "--max-reply-tokens", "1000", "--max-batch-tokens", "256"),
            3,
            "does-not-fit",
        ),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_a_refused_plan_says_why_on_stderr(
    sample_repo: Path, args: tuple[str, ...], code: int, verdict: str, as_json: bool
) -> None:
    result = CliRunner().invoke(
        app, ["plan", str(sample_repo), *args, *(["--json"] if as_json else [])], env=ENV
    )
    line = assert_one_line_error(result, code, f"error: verdict {verdict}: ")
    assert len(line) > len(f"error: verdict {verdict}: ") + 10  # the reason itself, not only the word
    if as_json:
        assert json.loads(result.stdout)["verdict"] == verdict  # stdout stays pure JSON
    else:
        assert f"verdict: {verdict}" in result.stdout


def test_nothing_to_send_says_why_on_stderr(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "empty")], env=ENV)
    assert_one_line_error(result, 2, "error: verdict nothing-to-send: no files to send")


def test_a_run_refused_at_plan_time_says_why_and_sends_nothing(
    sample_repo: Path, tmp_path: Path, fake_openai: FakeServer
) -> None:
    argv = ["run", str(sample_repo), "--base-url", fake_openai.base_url, "--output", str(tmp_path / "out")]
    result = CliRunner().invoke(
        app, [*argv, "--max-cost", "0.0000001"], env={**ENV, "OPENAI_API_KEY": "test-key-not-real"}
    )
    assert_one_line_error(result, 4, "error: verdict over-budget: ")
    assert fake_openai.chat_requests == []
    assert not (tmp_path / "out").exists()


def test_paths_that_look_like_markup_print_as_they_are(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    # Folders named "[red]loud[" and "b[" make paths that hold closing markup tags.
    (repo / "[red]loud[").mkdir()
    (repo / "[red]loud[" / "red].py").write_text("x = 1\n" * 50)
    (repo / "b[").mkdir()
    (repo / "b[" / "bold].py").write_bytes(b"name = 'caf\xe9'\n" * 3)  # not UTF-8: the plan prints a note
    (repo / "[dim].lock").write_text("pinned\n")  # skipped as a lock file
    code, out, err = invoke("plan", str(repo), "--no-git", "--list-skipped")
    assert code == 0, err
    assert "[red]loud[/red].py" in out and "b[/bold].py" in out and "[dim].lock" in out
