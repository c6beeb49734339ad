"""The live run's loop with a scripted model: no HTTP, exact control over every answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import make_repo

from lessongen.config.settings import resolve_settings
from lessongen.conversation.journal import Journal
from lessongen.conversation.ledger import LedgerEntry
from lessongen.errors import OverBudgetError
from lessongen.models.seam import ScriptedModel
from lessongen.pipeline import build_plan, execute, prepare


class Quiet:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def call_started(self, index: int, label: str, estimate: int, replay: bool) -> None:
        pass

    def call_finished(self, entry: LedgerEntry, batches_done: int, batches_total: int) -> None:
        pass

    def note(self, text: str) -> None:
        self.notes.append(text)


def chapter(paths: list[str]) -> str:
    scene = {
        "id": "s",
        "title": "t",
        "narration": "words " * 90,
        "visual_notes": "",
        "files": paths,
        "anchors": [{"path": p, "start_line": 1, "end_line": 2} for p in paths],
    }
    return json.dumps({"title": "T", "scenes": [scene]})


def setup(tmp_path: Path, **flags: object):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", modules=4)
    settings = resolve_settings(
        repo, {"output": str(tmp_path / "out"), "max_batch_tokens": 800, "local": False, **flags}, {}
    )
    prepared = prepare(settings)
    return prepared, build_plan(prepared)


def test_replies_in_order_build_the_script_and_the_journal(tmp_path: Path) -> None:
    prepared, plan = setup(tmp_path)
    replies = [chapter(list(b.paths)) for b in prepared.batches] + [chapter([])]
    model = ScriptedModel(replies, [])
    outcome = execute(prepared, plan, model, Quiet(), resume=False, force=False, server="scripted")
    assert outcome.stopped is None
    assert [c.source for c in outcome.script.chapters] == ["intro"] + [
        f"batch {i + 1}" for i in range(len(prepared.batches))
    ]
    assert len(model.sent) == len(plan.calls)
    assert Journal(tmp_path / "out").saved_count() == len(plan.calls)
    # The journal answers a resumed run: nothing is asked of the model again.
    again = ScriptedModel([], [])
    resumed = execute(prepared, plan, again, Quiet(), resume=True, force=False, server="scripted")
    assert resumed.stopped is None and again.sent == []
    assert all(e.replayed for e in resumed.entries)


def test_unusable_reply_gets_one_repair_then_is_kept_flagged(tmp_path: Path) -> None:
    prepared, plan = setup(tmp_path)
    first = prepared.batches[0]
    replies = ["not json at all", "still not json"]
    replies += [chapter(list(b.paths)) for b in prepared.batches[1:]] + [chapter([])]
    observer = Quiet()
    outcome = execute(
        prepared, plan, ScriptedModel(replies, []), observer, resume=False, force=False, server="s"
    )
    assert outcome.stopped is None
    flagged = next(c for c in outcome.script.chapters if c.source == "batch 1")
    assert flagged.scenes[0].flagged and "not json at all" in flagged.scenes[0].narration
    assert any("kept as a flagged scene" in n for n in observer.notes)
    assert [e.kind for e in outcome.entries][:2] == ["batch", "repair"]
    assert set(first.paths) <= set(outcome.script.uncovered)  # the flagged chapter anchors nothing
    assert outcome.deviations[0] == "1 repair turn(s) for unusable replies"


def test_call_cap_stops_before_the_call(tmp_path: Path) -> None:
    prepared, plan = setup(tmp_path, max_calls=2)
    model = ScriptedModel([chapter(list(b.paths)) for b in prepared.batches], [])
    outcome = execute(prepared, plan, model, Quiet(), resume=False, force=False, server="s")
    assert isinstance(outcome.stopped, OverBudgetError)
    assert len(model.sent) == 2
    assert outcome.script.complete is False
    assert json.loads((tmp_path / "out" / "script.json").read_text())["complete"] is False


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_summary_is_noted_not_fatal(tmp_path: Path, text: str) -> None:
    prepared, plan = setup(
        tmp_path,
        context_window=4000,
        reply_tokens=300,
        summary_reply_tokens=200,
        intro_reply_tokens=300,
        max_output_tokens=600,
    )
    kinds = [c.kind.value for c in plan.calls]
    if "summary" not in kinds:
        pytest.skip("this window does not force a summary")
    replies: list[str] = []
    batches = iter(prepared.batches)
    for kind in kinds:
        replies.append(
            text
            if kind == "summary"
            else chapter(list(next(batches).paths))
            if kind == "batch"
            else chapter([])
        )
    observer = Quiet()
    outcome = execute(
        prepared, plan, ScriptedModel(replies, []), observer, resume=False, force=False, server="s"
    )
    assert outcome.stopped is None
    assert any("empty summary" in n for n in observer.notes)
