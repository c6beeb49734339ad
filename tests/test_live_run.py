"""The live run's loop with a scripted model: no HTTP, exact control over every answer."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_openai import file_tags
from helpers import make_repo

from lessongen.config.settings import resolve_settings
from lessongen.conversation.journal import Journal
from lessongen.conversation.ledger import LedgerEntry
from lessongen.errors import OverBudgetError
from lessongen.models.seam import Completion, ScriptedModel
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


@dataclass
class Responsive:
    """Answers what each call asks: `summary` to a summary request (no schema), else a chapter on the files sent.

    The run decides when to summarise from the replies it gets, so a list in the plan's order would not do.
    """

    summary: str
    summaries: int = 0

    def complete(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int, schema: Mapping[str, Any] | None
    ) -> Completion:
        if schema is None:
            self.summaries += 1
            return Completion(self.summary, "stop", None)
        return Completion(chapter([path for path, _, _ in file_tags(messages[-1]["content"])]), "stop", None)

    def close(self) -> None:
        pass


def setup(tmp_path: Path, modules: int = 4, **flags: object):  # type: ignore[no-untyped-def]
    repo = make_repo(tmp_path / "repo", modules=modules)
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
        modules=8,
        max_batch_tokens=400,
        context_window=2400,
        reply_tokens=300,
        summary_reply_tokens=200,
        intro_reply_tokens=300,
        max_output_tokens=600,
    )
    kinds = [c.kind.value for c in plan.calls]
    assert "summary" in kinds, "this window must force a summary: adjust the settings above"
    model = Responsive(summary=text)
    observer = Quiet()
    outcome = execute(prepared, plan, model, observer, resume=False, force=False, server="s")
    assert model.summaries >= 1
    assert outcome.stopped is None
    assert any("empty summary" in n for n in observer.notes)
