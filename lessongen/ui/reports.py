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
    """The models a server offers (or the catalog): each window, its prices, and where both came from."""
    windows = [listing.source + (f" ({listing.note})" if listing.note else "") for listing in listings]
    priced = [listing.prices.source if listing.prices else "unpriced" for listing in listings]
    # A source shared by every row is said once, in the title; the table then fits 80 columns.
    shared = [
        f"{name} from {found[0]}"
        for name, found in (("windows", windows), ("prices", priced))
        if len(set(found)) == 1 and found[0] != "unpriced"
    ]
    title = f"models at {server}" if server else "models in the catalog"
    known = any(listing.prices for listing in listings)
    title += ("; prices in USD per 1M tokens" if known else "; no prices known") + "".join(
        f"; {said}" for said in shared
    )
    figures = ["input", "cached", "output"] if known else []  # no columns of dashes
    columns = ["model", "window", *figures]
    per_row = [
        (name, found)
        for name, found in (("window from", windows), ("prices from", priced))
        if len(set(found)) > 1
    ]
    columns += [name for name, _ in per_row]
    listed = table(
        title, columns, right={"window", "input", "cached", "output"}, fold={n for n, _ in per_row}
    )
    # An id is never cut or broken across lines, so that it can be copied; the sources fold instead.
    listed.columns[0].min_width = max((len(m.id) for m in listings), default=5)
    for row, listing in enumerate(listings):
        window = f"{listing.window:,}" if listing.window else "unknown"
        price = listing.prices
        cells = [f"{p:g}" for p in (price.input, price.cached_input, price.output)] if price else ["-"] * 3
        listed.add_row(listing.id, window, *cells[: len(figures)], *(found[row] for _, found in per_row))
    console.print(listed)
