"""The terminal UI on its own: progress lines, the choice of observer, tables and the error line."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from lessongen.conversation.dry_run import CallRecord
from lessongen.conversation.history import CallKind
from lessongen.conversation.ledger import LedgerEntry
from lessongen.models.discovery import ModelListing
from lessongen.models.prices import Prices
from lessongen.ui.live import LiveObserver, PlainObserver, make_observer
from lessongen.ui.reports import render_models
from lessongen.ui.terminal import error, make_console


def entry(**changes: object) -> LedgerEntry:
    fields: dict[str, object] = {
        "index": 2,
        "kind": CallKind.BATCH,
        "label": "batch 2",
        "estimate_tokens": 1_200,
        "prompt_tokens": 1_250,
        "completion_tokens": 300,
        "cached_tokens": 1_024,
        "cost_usd": 0.0012,
        "total_cost_usd": 0.0031,
        "finish_reason": "stop",
        "attempts": 1,
        "seconds": 1.26,
        "response_format": "json_schema",
        "usage_reported": True,
    }
    return LedgerEntry(**{**fields, **changes})  # type: ignore[arg-type]


def planned(calls: int) -> tuple[CallRecord, ...]:
    kinds = [CallKind.BATCH] * (calls - 1) + [CallKind.INTRO]
    return tuple(
        CallRecord(i + 1, k, f"call {i + 1}", 10, 1_000, 0, 300, 0.001, 0.001) for i, k in enumerate(kinds)
    )


def console() -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return make_console(file=out, width=80), out


def test_plain_observer_prints_one_whole_line_per_call_whatever_the_width() -> None:
    screen, out = console()
    observer = PlainObserver(screen, window=10_000, planned=planned(5))
    observer.call_started(1, "batch 1", 1_200, replay=False)
    assert out.getvalue() == ""  # the line comes when the call is done
    observer.call_finished(entry(index=1, label="batch 1"), batches_done=1, batches_total=4)
    assert out.getvalue() == (
        "call 1/5 batch 1: prompt 1,250 (est 1,200), cached 1,024, reply 300, context 12%, $0.0012, 1.3s | "
        "reply 300 tokens | $0.0012 of ~$0.0060 | ETA 5s\n"
    )


def test_plain_observer_says_retries_and_replays_and_counts_calls_not_batches() -> None:
    screen, out = console()
    observer = PlainObserver(screen, window=10_000, planned=planned(2))
    observer.call_finished(entry(attempts=3), batches_done=1, batches_total=1)
    observer.call_finished(
        entry(replayed=True, label="intro", kind=CallKind.INTRO), batches_done=2, batches_total=1
    )
    first, second = out.getvalue().splitlines()
    assert first.startswith("call 1/2 ") and "1.3s, 2 retries |" in first
    assert second.startswith("call 2/2 intro") and "replayed from journal |" in second
    assert second.endswith("ETA 0s")


def test_notes_are_lines_of_their_own() -> None:
    screen, out = console()
    PlainObserver(screen, window=1, planned=()).note(
        "the server counts up to 1.10x our estimate " + "x" * 100
    )
    assert out.getvalue().startswith("note: the server counts") and out.getvalue().count("\n") == 1


@pytest.mark.parametrize(
    ("terminal", "term", "kind"),
    [(False, "xterm", PlainObserver), (True, "dumb", PlainObserver), (True, "xterm", LiveObserver)],
)
def test_a_progress_bar_only_on_a_real_terminal(
    monkeypatch: pytest.MonkeyPatch, terminal: bool, term: str, kind: type[PlainObserver]
) -> None:
    monkeypatch.setenv("TERM", term)
    screen = Console(file=io.StringIO(), force_terminal=terminal, width=80)
    observer = make_observer(screen, window=1_000, planned=planned(3))
    try:
        assert type(observer) is kind
    finally:
        observer.close()


def test_the_live_observer_counts_every_call_and_never_goes_back() -> None:
    screen = Console(file=io.StringIO(), force_terminal=True, width=100)
    observer = LiveObserver(screen, window=10_000, planned=planned(3))
    try:
        observer.call_started(1, "batch 1", 900, replay=True)
        task = observer.bar.tasks[0]
        assert task.description == "replaying batch 1 (~900 tokens)" and task.fields["call"] == 1
        observer.call_finished(entry(index=1), batches_done=1, batches_total=2)
        observer.call_started(2, "repair batch 1", 900, replay=False)
        observer.call_finished(entry(index=2, kind=CallKind.REPAIR), batches_done=1, batches_total=2)
        task = observer.bar.tasks[0]
        assert (task.completed, task.total) == (2, 4)  # the repair adds a call; nothing goes back
        assert not task.finished  # the clock keeps running while calls are ahead
        assert (
            task.fields["stats"] == "context 12% | reply 600 tokens | $0.0024 of ~$0.0072 | ETA 3s"
        )  # 2 calls ahead at 2.4x the plan
    finally:
        observer.close()


def test_the_error_line_is_one_line_and_takes_brackets_literally() -> None:
    screen, out = console()
    error(screen, "no API key [set OPENAI_API_KEY] for " + "a-long-server-name." * 6)
    text = out.getvalue()
    assert text.startswith("error: no API key [set OPENAI_API_KEY] for ")
    assert text.count("\n") == 1


def test_models_table_shows_each_window_and_where_it_came_from() -> None:
    screen, out = console()
    listings = [
        ModelListing("qwen-coder", 32_768, "vLLM /v1/models max_model_len"),
        ModelListing("x", None, "not reported"),
        ModelListing("b", 131_072, "LM Studio", note="not loaded"),
    ]
    render_models(screen, listings, "http://127.0.0.1:8000/v1")
    lines = out.getvalue().splitlines()
    assert lines[0].strip() == "models at http://127.0.0.1:8000/v1; no prices known"
    rows = {line.split("│")[1].strip(): line for line in lines if "│" in line}
    assert "input" not in out.getvalue() and "cached" not in out.getvalue()  # no price columns, none made up
    assert "32,768" in rows["qwen-coder"] and "max_model_len" in rows["qwen-coder"]
    assert "unknown" in rows["x"] and "not reported" in rows["x"]
    assert "131,072" in rows["b"] and "LM Studio (not loaded)" in rows["b"]


def test_models_table_without_a_server_is_the_catalog() -> None:
    screen, out = console()
    priced = Prices(0.15, 0.075, 0.6, "genai-prices 1.0.0 (2026-01-15)")
    render_models(screen, [ModelListing("gpt-4o-mini", 128_000, "catalog", prices=priced)], None)
    title = " ".join(line.strip() for line in out.getvalue().split("┏")[0].splitlines())
    assert title == (
        "models in the catalog; prices in USD per 1M tokens; windows from catalog; "
        "prices from genai-prices 1.0.0 (2026-01-15)"
    )
    row = next(line for line in out.getvalue().splitlines() if "gpt-4o-mini" in line)
    assert [cell.strip() for cell in row.strip("│").split("│")] == [
        "gpt-4o-mini",
        "128,000",
        "0.15",
        "0.075",
        "0.6",
    ]
