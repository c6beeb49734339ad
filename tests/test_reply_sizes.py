"""Replies as they are, and resuming after a refusal: run.json's reply sizes, the next plan, the rest."""

from __future__ import annotations

import json
from pathlib import Path

from fake_openai import ChapterResponder, FakeServer, RecordedRequest, Reply
from helpers import make_repo
from test_run import plan_json, run_cli

from lessongen.conversation.fit import MAX_SCENES


def test_run_json_keeps_the_reply_sizes_and_the_next_plan_assumes_them(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    out = tmp_path / "lesson"
    before = plan_json(repo, "--output", str(out), "--max-batch-tokens", "600")
    assert next(c["reply_tokens"] for c in before["calls"] if c["kind"] == "batch") == 1500 // MAX_SCENES
    half, twice = before["cost_usd_if_replies"]["half"], before["cost_usd_if_replies"]["twice"]
    assert half < before["totals"]["cost_usd"] < twice
    # Chapters of 400 tokens a scene where 250 are assumed; intro 900.
    with FakeServer(responder=ChapterResponder(scene_tokens=400, intro_tokens=900)) as server:
        code, _, stderr = run_cli(server, repo, out, "--max-batch-tokens", "600")
        assert code == 0, stderr
    run = json.loads((out / "run.json").read_text())
    sizes = run["reply_sizes"]
    assert 400 <= sizes["tokens_per_scene"] < 420 and 900 <= sizes["intro_tokens"] < 920
    assert run["rest"] == {"calls": 0, "cost_usd": 0.0}
    after = plan_json(repo, "--output", str(out), "--max-batch-tokens", "600")
    replies = [c["reply_tokens"] for c in after["calls"]]
    assert replies[0] >= 400 and replies[-1] == sizes["intro_tokens"]
    assert after["batch_budget_tokens"] == before["batch_budget_tokens"]  # the batches stay put
    assert after["totals"]["cost_usd"] > before["totals"]["cost_usd"]


def test_a_stopped_run_re_projects_the_rest(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    out = tmp_path / "lesson"
    with FakeServer(responder=ChapterResponder(scene_tokens=250)) as server:
        code, _, _ = run_cli(server, repo, out, "--max-batch-tokens", "600", "--max-calls", "2")
    assert code != 0
    run = json.loads((out / "run.json").read_text())
    planned = run["plan"]["calls"]
    assert run["rest"]["calls"] == planned - 2 and run["rest"]["cost_usd"] > 0


class ShrinkingWindow:
    """Answers chapters; after `after` calls the server's real window turns out smaller."""

    def __init__(self, after: int, window: int) -> None:
        self.inner = ChapterResponder(scene_tokens=250, summary_tokens=600, intro_tokens=1500)
        self.after, self.window = after, window
        self.server: FakeServer | None = None

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.call == self.after and self.server is not None:
            self.server.context_window = self.window
        return self.inner(request)


def test_resume_after_a_refusal_keeps_the_batches_and_the_paid_answers(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=40, lines=90)
    out = tmp_path / "lesson"
    responder = ShrinkingWindow(after=2, window=9000)
    with FakeServer(context_window=16_000, responder=responder) as server:
        responder.server = server
        code, _, stderr = run_cli(server, repo, out, "--context-window", "16000")
        assert code == 3, stderr  # the server refused a prompt as longer than its window
        assert "--context-window" in stderr and "--resume" in stderr
        first = len(server.chat_requests)
        # The obvious fix: the real window (a little smaller than the one assumed), then --resume.
        server.context_window = 14_500
        code, _, stderr = run_cli(server, repo, out, "--context-window", "14500", "--resume")
        assert code == 0, stderr
        sent_again = len(server.chat_requests) - first
    run = json.loads((out / "run.json").read_text())
    assert any(n.startswith("resuming with setting context_window changed") for n in run["notes"])
    replayed = [c for c in run["calls"] if c["replayed"]]
    assert len(replayed) == 2  # the two answered calls are not paid again
    assert first == 3 and sent_again == len(run["calls"]) - 2  # the refused call is asked again
    batches = [c for c in run["calls"] if c["kind"] == "batch"]
    assert len(batches) == len({c["label"] for c in batches})
