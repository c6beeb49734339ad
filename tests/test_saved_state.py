"""Saved state under damage and concurrency: damaged answers, the output lock, --force, resume checks."""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from fake_openai import ChapterResponder, FakeServer, Fault, RecordedRequest, Reply
from helpers import assert_one_line_error, make_repo
from typer.testing import CliRunner, Result

from lessongen.cli import app
from lessongen.models.local import bundled_model_path, local_available

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
KEY = "test-key-" + "x" * 12  # not key-shaped
BATCHES = ("--max-batch-tokens", "800")  # for the four modules of `finished`: four batches, the intro
CALLS = 5


class SameAnswers:
    """Chapters that depend only on the conversation so far, so a call asked again gets the same answer."""

    def __init__(self) -> None:
        self.inner = ChapterResponder()

    def __call__(self, request: RecordedRequest) -> Reply:
        return self.inner(replace(request, call=len(request.messages) // 2))


def run(server: FakeServer, repo: Path, out: Path, *args: str) -> Result:
    argv = ["run", str(repo), "--base-url", server.base_url, "--output", str(out), "--no-git", *BATCHES]
    env = {"OPENAI_API_KEY": KEY, "COLUMNS": "120", "NO_COLOR": "1"}
    return CliRunner().invoke(app, [*argv, "--max-retries", "0", *args], env=env)


@pytest.fixture
def finished(fake_openai: FakeServer, tmp_path: Path) -> tuple[FakeServer, Path, Path]:
    """A finished lesson of five calls in tmp_path/lesson, made against the fake server."""
    repo = make_repo(tmp_path / "repo", modules=4)
    out = tmp_path / "lesson"
    fake_openai.responder = SameAnswers()
    result = run(fake_openai, repo, out)
    assert result.exit_code == 0, result.stderr
    assert len(fake_openai.chat_requests) == CALLS
    return fake_openai, repo, out


def reply_file(out: Path, index: int) -> Path:
    (found,) = (out / ".lessongen" / "replies").glob(f"{index:04d}-*.json")
    return found


def no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr


def _as_json(change: Callable[[dict[str, object]], object]) -> Callable[[bytes], bytes]:
    def damage(raw: bytes) -> bytes:
        return json.dumps(change(json.loads(raw))).encode()

    return damage


DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "truncated": lambda raw: raw[: len(raw) // 2],
    "empty": lambda raw: b"",
    "random bytes": lambda raw: random.Random(11).randbytes(300),
    "a list": _as_json(lambda data: [data]),
    "no text": _as_json(lambda data: {k: v for k, v in data.items() if k != "text"}),
    "text an int": _as_json(lambda data: {**data, "text": 5}),
    "usage of text": _as_json(lambda data: {**data, "usage": {"prompt_tokens": "many"}}),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_a_damaged_answer_is_asked_again_and_only_that_call(
    finished: tuple[FakeServer, Path, Path], kind: str
) -> None:
    server, repo, out = finished
    before = (out / "script.json").read_bytes()
    third = server.chat_requests[2]
    path = reply_file(out, 3)
    path.write_bytes(DAMAGE[kind](path.read_bytes()))
    result = run(server, repo, out, "--resume")
    assert result.exit_code == 0, result.stderr
    no_traceback(result)
    assert "saved answer 3 is damaged" in result.stderr and "that call is asked again" in result.stderr
    again = server.chat_requests[CALLS:]
    assert [r.messages for r in again] == [third.messages]  # that call only, exactly as first sent
    assert (out / "script.json").read_bytes() == before
    assert json.loads(path.read_text())["text"]  # the new answer replaced the damaged file


def test_a_special_file_in_place_of_an_answer_is_asked_again(finished: tuple[FakeServer, Path, Path]) -> None:
    server, repo, out = finished
    path = reply_file(out, 5)
    path.unlink()
    os.mkfifo(path)
    result = run(server, repo, out, "--resume")
    assert result.exit_code == 0, result.stderr
    assert "saved answer 5 is damaged (" in result.stderr and "FIFO" in result.stderr
    assert len(server.chat_requests) == CALLS + 1


def test_a_finished_lesson_is_never_replaced_by_a_partial_one(
    finished: tuple[FakeServer, Path, Path],
) -> None:
    server, repo, out = finished
    kept = {name: (out / name).read_bytes() for name in ("script.json", "script.md", "run.json")}
    path = reply_file(out, 2)
    path.write_bytes(b"")
    server.script(Fault.server_error())  # the one call asked again fails
    result = run(server, repo, out, "--resume")
    assert_one_line_error(result, 5, "the server answered 500")
    assert "the finished lesson in" in result.stderr and "is kept" in result.stderr
    assert {name: (out / name).read_bytes() for name in kept} == kept
    assert len(server.chat_requests) == CALLS + 1
    healed = run(server, repo, out, "--resume")  # the server is back: that one call, then done
    assert healed.exit_code == 0, healed.stderr
    assert len(server.chat_requests) == CALLS + 2
    assert json.loads((out / "script.json").read_text())["complete"] is True


def test_resume_and_force_together_are_refused(finished: tuple[FakeServer, Path, Path]) -> None:
    server, repo, out = finished
    before = (out / "script.json").read_bytes()
    assert_one_line_error(run(server, repo, out, "--resume", "--force"), 2, "--resume and --force")
    assert len(server.chat_requests) == CALLS
    assert (out / "script.json").read_bytes() == before
    assert len(list((out / ".lessongen" / "replies").iterdir())) == CALLS


def test_the_manifest_records_what_answered(finished: tuple[FakeServer, Path, Path]) -> None:
    server, repo, out = finished
    saved = json.loads((out / ".lessongen" / "manifest.json").read_text())
    assert saved["backend"] == server.base_url
    assert saved["model"] == "gpt-4o-mini"
    assert saved["repository"] == str(repo.resolve())


def test_resume_on_another_server_explains_and_sends_nothing(finished: tuple[FakeServer, Path, Path]) -> None:
    server, repo, out = finished
    before = (out / "script.json").read_bytes()
    with FakeServer() as other:
        line = assert_one_line_error(run(other, repo, out, "--resume"), 2, "cannot resume: backend changed")
        assert f"{server.base_url} -> {other.base_url}" in line
        assert other.chat_requests == []
    assert (out / "script.json").read_bytes() == before


@pytest.mark.parametrize("change", ["model", "repository"])
def test_resume_with_another_model_or_repository_is_refused(
    finished: tuple[FakeServer, Path, Path], change: str
) -> None:
    server, repo, out = finished
    args: tuple[str, ...] = ()
    if change == "model":
        args = ("--model", "gpt-4.1-mini")
    else:
        repo = shutil.copytree(repo, repo.parent / "copy")
    line = assert_one_line_error(run(server, repo, out, "--resume", *args), 2, f"{change} changed")
    assert "--force" in line
    assert len(server.chat_requests) == CALLS


@contextmanager
def read_only(folder: Path) -> Iterator[None]:
    """Make `folder` read-only for this process (root ignores modes: then the immutable attribute)."""
    folder.chmod(0o555)
    immutable = False
    try:
        probe = folder / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            chattr = shutil.which("chattr")
            immutable = chattr is not None and subprocess.run([chattr, "+i", str(folder)]).returncode == 0
            try:
                probe.touch()
            except OSError:
                pass
            else:
                probe.unlink()
                pytest.skip("cannot make a read-only folder here")
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(folder)], check=True)
        folder.chmod(0o755)


def test_force_on_a_read_only_output_folder_is_one_line(finished: tuple[FakeServer, Path, Path]) -> None:
    server, repo, out = finished
    with read_only(out):
        result = run(server, repo, out, "--force")
    assert_one_line_error(result, 6, f"cannot remove {out / 'script.md'}")
    assert len(server.chat_requests) == CALLS
    assert len(list((out / ".lessongen" / "replies").iterdir())) == CALLS  # the paid answers are kept
    assert run(server, repo, out, "--resume").exit_code == 0
    assert len(server.chat_requests) == CALLS


def test_a_new_run_into_a_read_only_folder_is_one_line(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    out = tmp_path / "lesson"
    out.mkdir()
    with read_only(out):
        result = run(fake_openai, repo, out)
    assert_one_line_error(result, 6, f"cannot write {out / '.lessongen'}")
    assert fake_openai.chat_requests == []


class Gate:
    """Holds the first chat call until the test opens the gate."""

    def __init__(self) -> None:
        self.inner = SameAnswers()
        self.arrived = threading.Event()
        self.open = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        self.arrived.set()
        self.open.wait(60)
        return self.inner(request)


@pytest.mark.skipif(sys.platform == "win32", reason="flock is a Unix call")
def test_a_run_on_a_folder_another_process_locked_refuses(finished: tuple[FakeServer, Path, Path]) -> None:
    import fcntl

    server, repo, out = finished
    before = (out / "script.json").read_bytes()
    with (out / ".lessongen" / "lock").open("a") as held:  # the OS lock, as another lessongen holds it
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        for extra in ("--resume", "--force"):
            assert_one_line_error(
                run(server, repo, out, extra), 6, f"{out} is in use by another lessongen run"
            )
    assert len(server.chat_requests) == CALLS
    assert (out / "script.json").read_bytes() == before
    assert run(server, repo, out, "--resume").exit_code == 0  # released: the lock goes with its holder
    assert len(server.chat_requests) == CALLS


@pytest.mark.slow  # starts a real lessongen process
def test_a_second_run_on_a_busy_output_folder_refuses(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    out = tmp_path / "lesson"
    gate = Gate()
    fake_openai.responder = gate
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(OPENAI_API_KEY=KEY, PYTHONPATH=str(PACKAGE_ROOT), NO_COLOR="1")
    argv = [sys.executable, "-m", "lessongen", "run", str(repo), "--base-url", fake_openai.base_url]
    first = subprocess.Popen([*argv, "--output", str(out), "--no-git"], env=env, stderr=subprocess.PIPE)
    try:
        assert gate.arrived.wait(60), "the first run never called the server"
        for extra in ((), ("--resume",), ("--force",)):
            second = run(fake_openai, repo, out, *extra)
            assert_one_line_error(second, 6, f"{out} is in use by another lessongen run")
    finally:
        gate.open.set()
        _, stderr = first.communicate(timeout=60)
    assert first.returncode == 0, stderr.decode()
    assert len(fake_openai.chat_requests) == 2  # the first run's batch and intro; nothing from the others
    assert json.loads((out / "script.json").read_text())["complete"] is True


@pytest.mark.slow
@pytest.mark.skipif(not local_available() or bundled_model_path() is None, reason="needs the local extra")
def test_a_local_run_is_not_resumed_on_a_server(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1, lines=3)
    out = tmp_path / "lesson"
    local = [
        "run",
        str(repo),
        "--local",
        "--output",
        str(out),
        "--max-calls",
        "1",
        "--max-reply-tokens",
        "64",
    ]
    first = CliRunner().invoke(app, local, env={"COLUMNS": "120", "LESSONGEN_LOCAL": ""})
    assert first.exit_code == 4, first.stderr  # one answer paid, then --max-calls
    saved = json.loads((out / ".lessongen" / "manifest.json").read_text())
    assert saved["backend"].startswith("local ") and "SmolLM2" in saved["model"]
    before = (out / "script.json").read_bytes()
    line = assert_one_line_error(run(fake_openai, repo, out, "--resume"), 2, "cannot resume: backend changed")
    assert "model changed" in line and "-> gpt-4o-mini" in line
    assert fake_openai.chat_requests == []
    assert (out / "script.json").read_bytes() == before


def test_a_damaged_manifest_is_one_line_and_sends_nothing(finished: tuple[FakeServer, Path, Path]) -> None:
    server, repo, out = finished
    (out / ".lessongen" / "manifest.json").write_bytes(b'{"backend": "ht')
    line = assert_one_line_error(run(server, repo, out, "--resume"), 6, "the saved run's manifest is damaged")
    assert "--force" in line
    assert len(server.chat_requests) == CALLS
