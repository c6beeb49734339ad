"""Killing a live run and resuming it, with real processes: no answer is lost and none is paid twice.

`python -m lessongen run` runs in its own process against the fake server, which runs in a thread of
the test process and sees every request. A slow responder makes the run last a few seconds so that
SIGKILL and SIGINT land in the middle of it.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from fake_openai import ChapterResponder, FakeServer, RecordedRequest, Reply
from helpers import make_repo, seeded_cache

from lessongen.conversation.journal import request_key

pytestmark = pytest.mark.slow

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
BATCH_ARGS = ("--max-batch-tokens", "800")  # six batches and the intro: seven calls
# A small window that forces a rolling summary: ten batches, "summary 1-5" as call 7, the intro.
SUMMARY_ARGS = (
    "--max-batch-tokens",
    "1200",
    "--context-window",
    "3000",  # ten batches of 1,200 tokens and their chapters pass it: one rolling summary falls near the end
    "--max-output-tokens",
    "1000",
    "--reply-tokens",
    "300",
    "--summary-reply-tokens",
    "200",
    "--intro-reply-tokens",
    "300",
)
DELAY = 0.3  # seconds the fake model takes per answer
LIMIT = 60.0  # seconds any one lessongen process may take


class SlowChapters:
    """The default chapter responder, slowed down, with scene ids that do not depend on arrival order.

    ChapterResponder names scenes after the server's call number, which grows when a call is sent again
    after a kill. Numbering by conversation position (two messages per answered call) gives the same
    ids as an uninterrupted run, so interrupted and uninterrupted scripts can be compared whole.
    """

    def __init__(self, delay: float = DELAY, reply_tokens: int | None = None) -> None:
        self.delay = delay
        self.inner = ChapterResponder(reply_tokens)
        self.lock = threading.Lock()
        self.arrived = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        with self.lock:
            self.arrived += 1
        time.sleep(self.delay)
        return self.inner(replace(request, call=len(request.messages) // 2))


def environment(cache: Path) -> dict[str, str]:
    """The child's environment: no developer setting, a fake key made now, a private token cache."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LESSONGEN_", "OPENAI_"))}
    path = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    return {
        **env,
        "PYTHONPATH": path,  # the code under test, whatever is installed
        "OPENAI_API_KEY": "sk-test-" + uuid.uuid4().hex,
        "LESSONGEN_CACHE_DIR": str(seeded_cache(cache)),
        "LESSONGEN_LOCAL": "false",
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }


@dataclass
class Runs:
    """Starts lessongen processes against one server and keeps their logs."""

    repo: Path
    server: FakeServer
    logs: Path
    env: dict[str, str]
    args: tuple[str, ...] = BATCH_ARGS
    started: list[Path] = field(default_factory=list)

    def start(self, out: Path, *extra: str) -> tuple[subprocess.Popen[bytes], Path]:
        """`lessongen run` in its own process; returns it and the file its stderr goes to."""
        argv = [
            sys.executable,
            "-m",
            "lessongen",
            "run",
            str(self.repo),
            "--base-url",
            self.server.base_url,
            "--output",
            str(out),
            "--no-git",
            "--max-retries",
            "2",
            *self.args,
            *extra,
        ]
        err = self.logs / f"run{len(self.started) + 1}.stderr"
        self.started.append(err)
        with open(os.devnull, "wb") as devnull, err.open("wb") as stderr:
            process = subprocess.Popen(argv, env=self.env, cwd=self.logs, stdout=devnull, stderr=stderr)
        return process, err

    def finish(self, out: Path, *extra: str) -> tuple[int, str]:
        """Run to the end; the exit code and stderr."""
        process, err = self.start(out, *extra)
        try:
            code = process.wait(timeout=LIMIT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        return code, err.read_text(errors="replace")


def journaled(out: Path) -> list[dict[str, Any]]:
    """The answers saved in the run's journal."""
    folder = out / ".lessongen" / "replies"
    found = []
    for path in sorted(folder.glob("[0-9]*.json")) if folder.is_dir() else []:
        try:
            found.append(json.loads(path.read_text()))
        except (OSError, ValueError):  # written atomically, so this is only a file that vanished
            continue
    return found


def key_of(request: RecordedRequest) -> str:
    """The journal's key of exactly what a request sent ("" for a body cut short by the kill)."""
    body = request.body
    if not isinstance(body, dict):
        return ""
    return request_key(request.messages, body["model"])  # the live run keys on the messages and the model


def settle(server: FakeServer, responder: SlowChapters) -> list[RecordedRequest]:
    """The chat requests once every call in flight has been answered (or its client found gone)."""
    time.sleep(0.05)  # a request sent just before the kill reaches the responder
    deadline = time.monotonic() + 10
    while len(server.chat_requests) < responder.arrived and time.monotonic() < deadline:
        time.sleep(0.01)
    return server.chat_requests


def stop_when(process: subprocess.Popen[bytes], out: Path, replies: int | None, after: float | None) -> bool:
    """Wait until `replies` answers are journaled or `after` seconds have passed; False if it ended first."""
    begun = time.monotonic()
    while process.poll() is None:
        if replies is not None and len(journaled(out)) >= replies:
            return True
        if after is not None and time.monotonic() - begun >= after:
            return True
        if time.monotonic() - begun > LIMIT:
            process.kill()
            process.wait()
            pytest.fail("lessongen ran for longer than the test allows")
        time.sleep(0.005)
    return False


@dataclass(frozen=True)
class Kill:
    """What the server had received and the journal held when a run was killed."""

    seen: int  # chat requests received so far
    journal_keys: frozenset[str]


def check_nothing_paid_twice(requests: list[RecordedRequest], kills: list[Kill]) -> None:
    """After each kill, no answered request is sent again, except the one in flight when it died."""
    for number, kill in enumerate(kills):
        answered = {key_of(r) for r in requests[: kill.seen] if r.status == 200} - {""}
        unsaved = answered - kill.journal_keys
        assert len(unsaved) <= 1, (
            f"kill {number + 1}: {len(unsaved)} answers were neither saved nor in flight"
        )
        end = kills[number + 1].seen if number + 1 < len(kills) else len(requests)
        again = [key_of(r) for r in requests[kill.seen : end] if key_of(r) in answered]
        assert set(again) <= unsaved, f"kill {number + 1}: a saved answer was paid for again"
        assert len(again) <= 1, f"kill {number + 1}: the call in flight was sent {len(again)} times"


def script_of(out: Path) -> Any:
    return json.loads((out / "script.json").read_text())


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, Path]:
    """The repository, the script of an uninterrupted run of it, and a token cache folder."""
    base = tmp_path_factory.mktemp("interrupt")
    repo = make_repo(base / "repo")
    cache = base / "cache"
    responder = SlowChapters(delay=0.0)
    with FakeServer(responder=responder) as server:
        runs = Runs(repo, server, base, environment(cache))
        code, stderr = runs.finish(base / "reference")
        calls = len(server.chat_requests)
    assert code == 0, stderr
    assert calls == 7
    script = script_of(base / "reference")
    assert script["complete"] is True
    return repo, script, cache


@pytest.fixture
def slow_server() -> Iterator[tuple[FakeServer, SlowChapters]]:
    responder = SlowChapters()
    with FakeServer(responder=responder) as server:
        yield server, responder


def kill_and_resume(
    runs: Runs,
    responder: SlowChapters,
    out: Path,
    moments: list[tuple[int | None, float | None]],
) -> list[Kill]:
    """SIGKILL a run at each moment (journaled answers, or seconds), resuming in between; then finish."""
    kills: list[Kill] = []
    for attempt, (replies, after) in enumerate(moments):
        process, _ = runs.start(out, *(("--resume",) if attempt else ()))
        if not stop_when(process, out, replies, after):
            break  # the run ended before this moment
        process.kill()  # SIGKILL: no handler runs, nothing is flushed
        process.wait()
        requests = settle(runs.server, responder)
        kills.append(Kill(len(requests), frozenset(r["request_key"] for r in journaled(out))))
    code, stderr = runs.finish(out, "--resume")
    assert code == 0, stderr
    assert "Traceback" not in stderr
    return kills


def test_sigkill_after_each_saved_answer_then_resume(
    reference: tuple[Path, Any, Path], slow_server: tuple[FakeServer, SlowChapters], tmp_path: Path
) -> None:
    repo, expected, cache = reference
    server, responder = slow_server
    runs = Runs(repo, server, tmp_path, environment(cache))
    out = tmp_path / "lesson"
    kills = kill_and_resume(runs, responder, out, [(n, None) for n in range(1, 7)])
    assert len(kills) == 6
    assert [len(k.journal_keys) >= n for n, k in enumerate(kills, start=1)] == [True] * 6
    assert script_of(out) == expected
    requests = settle(server, responder)
    check_nothing_paid_twice(requests, kills)
    # Every planned call was answered once, plus at most one call in flight per kill.
    assert 7 <= len(requests) <= 7 + len(kills)
    ledger = json.loads((out / "run.json").read_text())
    assert len(ledger["calls"]) == 7 and ledger["complete"] is True


def test_sigkill_at_random_moments_then_resume(
    reference: tuple[Path, Any, Path], slow_server: tuple[FakeServer, SlowChapters], tmp_path: Path
) -> None:
    repo, expected, cache = reference
    server, responder = slow_server
    runs = Runs(repo, server, tmp_path, environment(cache))
    out = tmp_path / "lesson"
    chance = random.Random(20260611)
    # From inside the interpreter's start-up to well into the calls.
    moments: list[tuple[int | None, float | None]] = [(None, chance.uniform(0.3, 2.5)) for _ in range(5)]
    kills = kill_and_resume(runs, responder, out, moments)
    assert kills, "no kill landed before the run ended"
    assert script_of(out) == expected
    requests = settle(server, responder)
    check_nothing_paid_twice(requests, kills)
    assert len({key_of(r) for r in requests if r.status == 200}) == 7  # the plan's calls, nothing else


def test_sigint_stops_cleanly_and_resume_completes(
    reference: tuple[Path, Any, Path], slow_server: tuple[FakeServer, SlowChapters], tmp_path: Path
) -> None:
    repo, expected, cache = reference
    server, responder = slow_server
    runs = Runs(repo, server, tmp_path, environment(cache))
    out = tmp_path / "lesson"
    process, err = runs.start(out)
    assert stop_when(process, out, replies=2, after=None), "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    code = process.wait(timeout=LIMIT)
    stderr = err.read_text(errors="replace")
    assert code == 130, stderr
    assert "Traceback" not in stderr
    said = [line for line in stderr.splitlines() if "interrupted" in line]
    assert len(said) == 1, stderr
    assert "--resume" in said[0]
    saved = len(journaled(out))
    assert saved >= 2
    if (out / "script.json").exists():  # written unless the signal landed while writing it
        assert script_of(out)["complete"] is False
    sent = len(settle(server, responder))
    code, stderr = runs.finish(out, "--resume")
    assert code == 0, stderr
    assert script_of(out) == expected
    later = server.chat_requests[sent:]
    assert len(later) <= 7 - saved + 1  # at most the interrupted call is asked again


def test_output_under_a_regular_file_is_a_clear_error(
    reference: tuple[Path, Any, Path], slow_server: tuple[FakeServer, SlowChapters], tmp_path: Path
) -> None:
    repo, _, cache = reference
    server, _ = slow_server
    runs = Runs(repo, server, tmp_path, environment(cache))
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a regular file\n")
    code, stderr = runs.finish(blocker / "lesson")
    assert code == 6, stderr
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and str(blocker) in errors[0], stderr
    assert server.chat_requests == []  # nothing is paid for when nothing can be saved


def _mount_tmpfs(folder: Path, size: str) -> str | None:
    """Mount a tmpfs of `size` at `folder`; the reason it could not be done, or None."""
    if shutil.which("mount") is None or shutil.which("umount") is None:
        return "no mount command"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
        capture_output=True,
        timeout=30,
        check=False,
    )
    return None if done.returncode == 0 else f"cannot mount a tmpfs: {done.stderr.decode(errors='replace')}"


def test_full_disk_stops_with_a_clear_error_and_resume_completes(
    reference: tuple[Path, Any, Path], slow_server: tuple[FakeServer, SlowChapters], tmp_path: Path
) -> None:
    repo, expected, cache = reference
    server, responder = slow_server
    responder.delay = 0.0
    disk = tmp_path / "disk"
    disk.mkdir()
    problem = _mount_tmpfs(disk, "16k")  # four pages: the manifest and a few answers
    if problem:
        pytest.skip(problem)
    try:
        runs = Runs(repo, server, tmp_path, environment(cache))
        out = disk / "lesson"
        code, stderr = runs.finish(out)
        assert code == 6, stderr
        assert "Traceback" not in stderr
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1 and "--resume" in errors[0], stderr
        saved = {r["request_key"] for r in journaled(out)}
        assert saved, "the disk filled before any answer was saved"
        sent = len(settle(server, responder))
        subprocess.run(["mount", "-o", "remount,size=4m", str(disk)], check=True, timeout=30)
        code, stderr = runs.finish(out, "--resume")
        assert code == 0, stderr
        assert script_of(out) == expected
        assert not saved & {key_of(r) for r in server.chat_requests[sent:]}  # saved answers are reused
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False, timeout=30)


def test_sigkill_around_a_rolling_summary_then_resume(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=10, lines=90)
    cache = tmp_path / "cache"
    with FakeServer(context_window=3000, responder=SlowChapters(0.0, reply_tokens=280)) as server:
        runs = Runs(repo, server, tmp_path, environment(cache), SUMMARY_ARGS)
        code, stderr = runs.finish(tmp_path / "reference")
        assert code == 0, stderr
        labels = [c["label"] for c in json.loads((tmp_path / "reference" / "run.json").read_text())["calls"]]
    # Where the summary falls is the history policy's choice; two calls must follow it.
    summary = next(i for i, label in enumerate(labels) if label.startswith("summary "))
    assert summary + 2 < len(labels), labels
    responder = SlowChapters(0.15, reply_tokens=280)
    with FakeServer(context_window=3000, responder=responder) as server:
        runs = Runs(repo, server, tmp_path, environment(cache), SUMMARY_ARGS)
        out = tmp_path / "lesson"
        # With the summary in flight, then the first batch after it, then the second.
        kills = kill_and_resume(runs, responder, out, [(summary + n, None) for n in range(3)])
        requests = settle(server, responder)
    assert len(kills) == 3
    assert script_of(out) == script_of(tmp_path / "reference")
    check_nothing_paid_twice(requests, kills)
    ledger = json.loads((out / "run.json").read_text())
    assert [c["label"] for c in ledger["calls"]] == labels
