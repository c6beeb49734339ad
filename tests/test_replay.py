"""The content-addressed journal: a request answered before in this output folder is replayed, not paid again."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fake_openai import ChapterResponder, FakeServer, RecordedRequest, Reply
from helpers import make_repo
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.conversation.journal import Journal, request_key
from lessongen.models.seam import Completion

KEY = "test-key-" + "r" * 12  # not key-shaped
SHAPE = ("--no-git", "--context-window", "7000", "--max-batch-tokens", "800", "--max-retries", "0")


class SameAnswers:
    """Chapters that depend only on the conversation so far: a fresh run and a resume get the same ones."""

    def __init__(self) -> None:
        self.inner = ChapterResponder()

    def __call__(self, request: RecordedRequest) -> Reply:
        return self.inner(replace(request, call=len(request.messages)))


def lessongen(server: FakeServer, repo: Path, out: Path, *args: str) -> tuple[int, str, str]:
    argv = ["run", str(repo), "--base-url", server.base_url, "--output", str(out), *SHAPE, *args]
    env = {"OPENAI_API_KEY": KEY, "COLUMNS": "120", "NO_COLOR": "1"}
    result = CliRunner().invoke(app, argv, env=env)
    return result.exit_code, result.stdout, result.stderr


def key_of(request: RecordedRequest) -> str:
    return request_key(request.messages, request.body["model"])


def lesson(out: Path) -> list[Any]:
    return json.loads((out / "script.json").read_text())["chapters"]


def test_a_changed_setting_replays_every_identical_request(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=8)
    out = tmp_path / "lesson"
    fake_openai.responder = SameAnswers()
    code, _, stderr = lessongen(fake_openai, repo, out)
    assert code == 0, stderr
    first = list(fake_openai.chat_requests)
    answered = {key_of(r) for r in first}
    labels = [c["label"] for c in json.loads((out / "run.json").read_text())["calls"]]
    assert "summary" not in " ".join(labels)  # the first run's history fits whole

    # An earlier rolling summary: the calls before it are byte-identical, the rest differ.
    changed = ("--summary-threshold", "0.4")
    code, stdout, stderr = lessongen(fake_openai, repo, out, *changed, "--resume", "--dry-run", "--json")
    assert code == 0, stderr
    plan = json.loads(stdout)
    replayed = plan["resume"]["replayed_calls"]
    assert 0 < replayed < len(plan["calls"]) and plan["resume"]["saved_answers"] == len(first)
    assert len(fake_openai.chat_requests) == len(first)  # the dry run sent nothing

    code, _, stderr = lessongen(fake_openai, repo, out, *changed, "--resume")
    assert code == 0, stderr
    assert "setting summary_threshold changed (0.85 -> 0.4)" in stderr
    assert f"{replayed} calls replayed from {len(first)} saved answers" in stderr
    sent = fake_openai.chat_requests[len(first) :]
    assert sent and not answered & {key_of(r) for r in sent}  # no answered request is sent again
    assert [r.messages for r in sent[:1]] != [r.messages for r in first[replayed : replayed + 1]]
    calls = json.loads((out / "run.json").read_text())["calls"]
    assert [c["replayed"] for c in calls] == [True] * replayed + [False] * len(sent)
    assert calls[replayed]["kind"] == "summary"  # the first call that differs

    # The resumed lesson is the one a fresh run with the new setting writes.
    fresh = tmp_path / "fresh"
    code, _, stderr = lessongen(fake_openai, repo, fresh, *changed)
    assert code == 0, stderr
    assert lesson(out) == lesson(fresh)
    assert [r.messages for r in fake_openai.chat_requests[-len(calls) :]] == [
        *(r.messages for r in first[:replayed]),
        *(r.messages for r in sent),
    ]


def test_a_changed_reply_limit_sends_nothing_again(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=3)
    out = tmp_path / "lesson"
    fake_openai.responder = SameAnswers()
    assert lessongen(fake_openai, repo, out)[0] == 0
    made = len(fake_openai.chat_requests)
    # The reply limit is not part of a request: every answer ended on its own well below both limits.
    code, _, stderr = lessongen(fake_openai, repo, out, "--max-reply-tokens", "3000", "--resume")
    assert code == 0, stderr
    assert len(fake_openai.chat_requests) == made
    assert f"{made} calls replayed from {made} saved answers" in stderr


def test_another_models_answer_is_never_replayed(tmp_path: Path) -> None:
    messages = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    assert request_key(messages, "gpt-4o-mini") != request_key(messages, "gpt-4.1-mini")
    journal = Journal(tmp_path)
    answer = Completion("an answer", "stop", None, 1, "json_schema")
    journal.save(1, request_key(messages, "gpt-4o-mini"), "batch 1", answer, 0.5, 1000)
    assert journal.lookup(request_key(messages, "gpt-4.1-mini"), 1000) is None
    again = Journal(tmp_path).lookup(request_key(messages, "gpt-4o-mini"), 1000)  # found on disk
    assert again is not None and again.completion == answer


@pytest.mark.parametrize(
    ("saved_limit", "limit", "served"), [(500, 400, True), (500, 500, True), (500, 800, False)]
)
def test_an_answer_cut_off_at_a_smaller_limit_is_asked_again(
    tmp_path: Path, saved_limit: int, limit: int, served: bool
) -> None:
    key = request_key([{"role": "user", "content": "u"}], "m")
    journal = Journal(tmp_path)
    journal.save(3, key, "batch 3", Completion("cut", "length", None), 0.1, saved_limit)
    assert (journal.lookup(key, limit) is not None) is served
    whole = Completion("whole", "stop", None)
    journal.save(4, key, "batch 3", whole, 0.1, limit)  # the new answer replaces the old file
    files = sorted(p.name for p in (tmp_path / ".lessongen" / "replies").iterdir())
    assert files == [f"0004-{key}.json"]
    found = Journal(tmp_path).lookup(key, 10_000)
    assert found is not None and found.completion == whole
