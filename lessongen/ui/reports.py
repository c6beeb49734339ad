"""Reports after the work: a live run's calls and totals, the files a render wrote, a server's models."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lessongen.conversation.ledger import ledger_totals
from lessongen.conversation.reuse import Reuse, reuse_listing
from lessongen.models.discovery import ModelListing
from lessongen.pipeline.running import RunOutcome
from lessongen.shared.text import plural
from lessongen.ui.terminal import Console, money, table


def render_run(console: Console, outcome: RunOutcome) -> None:
    """The table of calls and totals at the end of a run, and where the outputs are."""
    columns = ("#", "call", "estimate", "prompt", "cached", "reply", "cost", "total")
    calls = table("calls", columns, right=set(columns) - {"call"})
    for e in outcome.entries:
        calls.add_row(
            str(e.index),
            e.label + (" (replayed)" if e.replayed else ""),
            f"{e.estimate_tokens:,}",
            f"{e.prompt_tokens:,}",
            f"{e.cached_tokens:,}",
            f"{e.completion_tokens:,}",
            money(e.cost_usd),
            money(e.total_cost_usd),
        )
    console.print(calls)
    totals = ledger_totals(outcome.entries)
    share = totals["cached_tokens"] / totals["prompt_tokens"] if totals["prompt_tokens"] else 0.0
    console.print(
        f"{totals['calls']} calls, {totals['prompt_tokens']:,} prompt tokens ({share:.0%} cached), "
        f"{totals['completion_tokens']:,} reply tokens, {money(totals['cost_usd'])}; "
        f"plan projected {outcome.plan.totals.prompt_tokens:,} prompt tokens, {money(outcome.plan.totals.cost_usd)}"
    )
    for deviation in outcome.deviations:
        console.print(f"differs from the plan: {deviation}", soft_wrap=True)
    script = outcome.script
    scenes = sum(len(c.scenes) for c in script.chapters)
    console.print(
        f"script: {plural(len(script.chapters), 'chapter')}, {plural(scenes, 'scene')}, "
        f"about {round(script.duration_seconds / 60)} min; {plural(len(script.anchor_issues), 'anchor issue')}, "
        f"{plural(len(script.uncovered), 'file')} {'uncovered' if script.complete else 'not yet covered'}",
        soft_wrap=True,
    )
    quality = outcome.report.get("quality", {})
    if quality:
        failure = quality["gate_failure"]
        verdict = f"fails the gate: {failure}" if failure else "passes the gate"
        console.print(
            f"quality: {plural(quality['flagged_chapters'], 'flagged chapter')}, "
            f"{quality['dropped_anchors']:,} of {plural(quality['anchors'], 'anchor')} dropped; {verdict}"
            + ("" if quality["strict"] or not failure else " (not enforced without --strict)"),
            soft_wrap=True,
        )
    for path in outcome.outputs:
        console.print(f"wrote {path}", soft_wrap=True)


def render_update(console: Console, reuse: Reuse, folder: Path) -> None:
    """What an update or a redo reuses and asks again; the lesson stays when nothing is asked."""
    for line in reuse_listing(reuse):
        console.print(line, soft_wrap=True)
    if reuse.up_to_date:
        console.print(f"the lesson in {folder} is up to date: nothing sent, nothing written", soft_wrap=True)


def render_written(console: Console, paths: Sequence[Path]) -> None:
    """The files a render wrote."""
    for path in paths:
        console.print(f"wrote {path}", soft_wrap=True)


def render_models(console: Console, listings: Sequence[ModelListing], server: str | None) -> None:
    """The models a server offers (or the catalog), with each window and where it came from."""
    title = f"models at {server}" if server else "models in the catalog"
    # the model column folds, never cut with "…": an id must stay copyable
    listed = table(title, ("model", "window", "source"), right={"window"}, fold={"model"})
    for listing in listings:
        window = f"{listing.window:,}" if listing.window else "unknown"
        source = listing.source + (f" ({listing.note})" if listing.note else "")
        listed.add_row(listing.id, window, source)
    console.print(listed)
