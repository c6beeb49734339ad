"""The live view over every call: call n of M never goes back, time runs to the last call, reply tokens, cost, ETA."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from fake_openai import FakeServer, Fault
from helpers import make_repo
from test_run import run_cli

from lessongen.conversation.dry_run import CallRecord
from lessongen.conversation.history import CallKind
from lessongen.conversation.ledger import LedgerEntry
from lessongen.conversation.progress import Progress, clock

CALL = re.compile(r"call (\d+)/(\d+)")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def planned(*kinds: CallKind, cost: float = 0.01) -> tuple[CallRecord, ...]:
    return tuple(
        CallRecord(i + 1, k, f"{k.value} {i + 1}", 10, 100, 0, 50, cost, cost) for i, k in enumerate(kinds)
    )


def entry(index: int, kind: CallKind, cost: float, seconds: float, replayed: bool = False) -> LedgerEntry:
    return LedgerEntry(
        index, kind, kind.value, 100, 100, 40, 0, cost, 0.0, "stop", 1, seconds, "json_schema", True, replayed
    )


def test_progress_counts_every_call_and_never_goes_back() -> None:
    plan = planned(CallKind.BATCH, CallKind.BATCH, CallKind.SUMMARY, CallKind.INTRO)
    progress = Progress(plan)
    start = progress.start()
    assert (start.done, start.total, start.eta_seconds) == (0, 4, None)
    made = [
        entry(1, CallKind.BATCH, 0.02, 2.0, replayed=True),
        entry(2, CallKind.BATCH, 0.02, 4.0),
        entry(3, CallKind.REPAIR, 0.02, 6.0),
        entry(4, CallKind.SUMMARY, 0.02, 2.0),
        entry(5, CallKind.INTRO, 0.02, 2.0),
    ]
    shots = [progress.finished(e) for e in made]
    assert [s.done for s in shots] == [1, 2, 3, 4, 5]
    assert [s.total for s in shots] == [4, 4, 5, 5, 5]  # the repair adds a call; nothing is taken back
    assert shots[1].remaining == 2  # after the last batch the summary and the intro are still ahead
    assert shots[0].eta_seconds is None  # a replay says nothing about the model's speed
    assert shots[1].eta_seconds == 4.0 * 2 and shots[2].eta_seconds == 5.0 * 2
    assert shots[1].projected_usd == 0.04 + 2 * 0.02  # calls ahead scaled by the 2x of the calls so far
    assert shots[-1].remaining == 0 and shots[-1].reply_tokens == 5 * 40
    assert shots[-1].projected_usd == shots[-1].spent_usd


def test_a_run_with_more_calls_than_planned_keeps_the_intro_ahead() -> None:
    progress = Progress(planned(CallKind.BATCH, CallKind.INTRO))
    shots = [progress.finished(entry(i, k, 0.01, 1.0)) for i, k in enumerate([CallKind.BATCH] * 3, 1)]
    assert [s.total for s in shots] == [2, 3, 4]  # each extra call still leaves the intro ahead
    assert progress.finished(entry(4, CallKind.INTRO, 0.01, 1.0)).total == 4


def test_clock() -> None:
    assert [clock(s) for s in (4.4, 185, 7800)] == ["4s", "3m05s", "2h10m"]


def test_the_ci_log_line_carries_call_n_of_m_reply_tokens_cost_and_eta(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "repo", modules=3)
    fake_openai.script(Fault.truncated())  # a repair turn: one call more than planned
    code, _, stderr = run_cli(fake_openai, repo, tmp_path / "lesson", "--max-batch-tokens", "800")
    assert code == 0, stderr
    lines = [line for line in stderr.splitlines() if line.startswith("call ")]
    counts = [tuple(map(int, CALL.match(line).groups())) for line in lines]  # type: ignore[union-attr]
    assert [n for n, _ in counts] == list(range(1, len(lines) + 1))
    assert all(n <= m for n, m in counts) and counts[-1][0] == counts[-1][1]
    assert "repair" in lines[1] and counts[1][1] == counts[0][1] + 1
    assert all("reply " in line and " of ~$" in line and "ETA " in line for line in lines)
    assert "ETA 0s" in lines[-1]


@pytest.mark.slow  # a real process in a pseudo-terminal: a few seconds
def test_the_terminal_view_in_a_real_pty(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=3)
    env = {
        **os.environ,
        "OPENAI_API_KEY": "sk-test-" + "p" * 24,
        "TERM": "xterm-256color",
        "COLUMNS": "200",
        "LINES": "40",
    }
    env.pop("NO_COLOR", None)
    argv = ["-m", "lessongen", "run", str(repo), "--base-url", fake_openai.base_url]
    argv += ["--output", str(tmp_path / "lesson"), "--max-batch-tokens", "800", "--formats", "none"]
    child = pexpect.spawn(sys.executable, argv, env=env, cwd=str(tmp_path), dimensions=(40, 200), timeout=120)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    screen = ANSI.sub("", child.before.decode("utf-8", "replace"))
    shown = [(int(n), int(m)) for n, m in CALL.findall(screen)]
    assert shown, screen
    numbers = [n for n, _ in shown]
    assert numbers == sorted(numbers)  # the bar never goes back
    calls = len(fake_openai.chat_requests)
    assert shown[-1] == (calls, calls)  # the last view counts every call, the intro included
    assert "ETA" in screen and "reply " in screen
