"""Terminal rendering: the only module that imports rich."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.progress import Progress as RichProgress
from rich.table import Table
from rich.text import Text

from lessongen.conversation.advice import Advice, duration
from lessongen.conversation.dry_run import CallRecord, Plan, Verdict
from lessongen.conversation.history import CallKind
from lessongen.conversation.ledger import LedgerEntry, ledger_totals
from lessongen.conversation.progress import Progress, Snapshot, clock
from lessongen.conversation.reuse import Reuse, reuse_listing
from lessongen.models.discovery import ModelListing
from lessongen.pipeline import RunOutcome
from lessongen.repo.secrets import SecretsMode
from lessongen.shared.text import first_few, plural


def make_console(stderr: bool = False, file: TextIO | None = None, width: int | None = None) -> Console:
    """A console on stdout or stderr; colour and width follow the terminal (NO_COLOR is honoured)."""
    stream = file or (sys.stderr if stderr else sys.stdout)
    # markup=False: paths, notes and model text are data; "[/bold]" in a file name must print as it is.
    return Console(file=stream, width=width, highlight=False, soft_wrap=False, markup=False)


def error(console: Console, message: str) -> None:
    """One line on stderr."""
    console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)


def _bar(share: float, width: int = 30) -> str:
    filled = max(0, min(width, round(share * width)))
    return "█" * filled + "░" * (width - filled)


def _money(value: float) -> str:
    return f"${value:,.4f}" if value < 10 else f"${value:,.2f}"


COMPACT_ROWS = 30  # a table longer than this shows its first and last rows (the full list is in --json)
_HEAD, _TAIL = 10, 5


def _rows_shown(count: int) -> tuple[range, range]:
    """The rows a compact table shows: all of them, or the first and the last few."""
    if count <= COMPACT_ROWS:
        return range(count), range(0)
    return range(_HEAD), range(count - _TAIL, count)


def render_plan(
    console: Console, plan: Plan, advice: Advice | None = None, list_skipped: bool = False, top: int = 10
) -> None:
    """The dry-run report: files, batches, calls, summaries, peak context, cost and a verdict."""
    totals = plan.totals
    model = plan.model
    console.print(Text(f"lessongen plan for {plan.scan.root}", style="bold"))
    console.print(
        f"model {model.name} ({model.provenance}): window {model.context_window:,} tokens, "
        f"usable input {plan.policy.input_limit:,}, reply reserve {plan.policy.max_reply_tokens:,}, "
        f"encoding {plan.encoding}"
    )
    console.print(
        f"files: {totals.files_included:,} included ({totals.source_tokens:,} tokens), "
        f"{totals.files_skipped:,} skipped"
    )
    if plan.secrets:
        kinds = ", ".join(sorted({f.kind for f in plan.secrets}))
        files = len({f.path for f in plan.secrets})
        verb = {SecretsMode.REDACT: "redacted", SecretsMode.SKIP_FILE: "held back with their files"}.get(
            plan.secrets_mode, "found"
        )
        console.print(f"secrets: {len(plan.secrets)} {verb} in {files} files ({kinds})", soft_wrap=True)
        for finding in plan.secrets[:10]:
            console.print(f"  {finding.path}:{finding.line} {finding.kind}", soft_wrap=True)
    noted = [f for f in plan.scan.files if f.note]
    for file in noted[:10]:
        console.print(f"note: {file.path}: {file.note}", soft_wrap=True)
    if len(noted) > 10:
        console.print(f"note: {len(noted) - 10} more files with notes (see --json)")
    if plan.scan.skipped:
        reasons = Table(title="skipped by reason", title_justify="left")
        reasons.add_column("reason")
        reasons.add_column("paths", justify="right")
        for reason, count in plan.skipped_by_reason():
            reasons.add_row(reason, f"{count:,}")
        console.print(reasons)
    if list_skipped and plan.scan.skipped:
        listing = Table(title="skipped paths", title_justify="left")
        listing.add_column("path")
        listing.add_column("reason")
        for skipped in plan.scan.skipped:
            listing.add_row(skipped.path, skipped.reason + (f" ({skipped.detail})" if skipped.detail else ""))
        console.print(listing)
    if plan.parts:
        biggest = Table(title=f"top {min(top, len(plan.parts))} files by tokens", title_justify="left")
        biggest.add_column("file")
        biggest.add_column("tokens", justify="right")
        for part in sorted(plan.parts, key=lambda p: (-p.tokens, p.path))[:top]:
            biggest.add_row(part.path, f"{part.tokens:,}")
        console.print(biggest)
    if plan.batches:
        batches = Table(
            title=f"batches (budget {plan.batch_budget:,} source tokens each)", title_justify="left"
        )
        batches.add_column("#", justify="right")
        batches.add_column("files", justify="right")
        batches.add_column("tokens", justify="right")
        batches.add_column("first files")
        head, tail = _rows_shown(len(plan.batches))
        for i in [*head, *tail]:
            batch = plan.batches[i]
            if tail and i == tail[0]:
                batches.add_row(
                    "…", "", "", f"{len(plan.batches) - len(head) - len(tail):,} more batches (see --json)"
                )
            names = [p.label for p in batch.parts]
            shown = first_few(names, 3, more=", +{} more")
            batches.add_row(str(batch.index + 1), str(len(batch.parts)), f"{batch.tokens:,}", shown)
        console.print(batches)
    if plan.prepared.reuse is not None:  # an update or a redo: what is reused, what is asked again
        for line in reuse_listing(plan.prepared.reuse):
            console.print(line, soft_wrap=True)
    if plan.calls:
        calls = Table(title="calls", title_justify="left")
        for name in ("#", "call", "new", "prompt", "cached", "reply", "window", "cost"):
            calls.add_column(name, justify="left" if name == "call" else "right")
        head, tail = _rows_shown(len(plan.calls))
        for i in [*head, *tail]:
            call = plan.calls[i]
            if tail and i == tail[0]:
                hidden = plan.calls[len(head) : tail[0]]
                folded = sum(1 for c in hidden if c.kind is CallKind.SUMMARY)
                calls.add_row(
                    "…", f"{len(hidden):,} more calls, {plural(folded, 'summary', 'summaries')} (see --json)"
                )
            share = call.prompt_tokens / model.context_window
            calls.add_row(
                str(call.index),
                call.label,
                f"{call.new_tokens:,}",
                f"{call.prompt_tokens:,}",
                f"{call.cached_tokens:,}",
                f"{call.reply_tokens:,}",
                f"{share:.0%}",
                _money(call.cost_usd),
                style="yellow" if call.kind is CallKind.SUMMARY else None,
            )
        console.print(calls)
    if plan.calls:  # a plan with no call that fits has no summaries, peak or cost to report
        points = plan.summary_points()
        if points:
            listed = first_few([str(p) for p in points], 12)
            console.print(
                f"{plural(len(points), 'rolling summary', 'rolling summaries')} at calls {listed}: "
                "older turns are folded there",
                soft_wrap=True,
            )
        elif plan.verdict is not Verdict.DOES_NOT_FIT:
            console.print("no rolling summary needed: the whole history fits")
        peak = totals.peak_prompt_tokens
        share = peak / model.context_window if model.context_window else 0.0
        console.print(f"peak context {_bar(share)} {peak:,} / {model.context_window:,} ({share:.0%})")
        console.print(
            f"projected cost {_money(totals.cost_usd)} with prompt caching "
            f"({totals.cached_tokens:,} of {totals.prompt_tokens:,} prompt tokens cached), "
            f"{_money(totals.cost_usd_without_cache)} without"
        )
        if advice is not None:
            console.print(
                f"estimated time {duration(advice.seconds)} for {plural(len(plan.calls), 'call')} "
                f"(at {advice.rates.source.value})",
                soft_wrap=True,
            )
    for warning in advice.warnings if advice and plan.calls else ():
        console.print(Text(f"warning: {warning}", style="yellow"), soft_wrap=True)
    if plan.cost_if_half is not None and plan.cost_if_twice is not None:
        console.print(
            f"if replies are half / twice the assumed size: {_money(plan.cost_if_half)} / "
            f"{_money(plan.cost_if_twice)}"
        )
    style = "bold green" if plan.verdict is Verdict.FITS else "bold red"
    console.print(Text(f"verdict: {plan.verdict.value}: {plan.reason}", style=style))


def _progress_stats(snap: Snapshot) -> str:
    eta = clock(snap.eta_seconds) if snap.eta_seconds is not None else "--"
    return (
        f"reply {snap.reply_tokens:,} tokens | {_money(snap.spent_usd)} of ~{_money(snap.projected_usd)} | "
        f"ETA {eta}"
    )


class PlainObserver:
    """One line per call, for CI logs and anything that is not a terminal."""

    def __init__(self, console: Console, window: int, planned: Sequence[CallRecord]) -> None:
        self.console = console
        self.window = window
        self.progress = Progress(planned)
        self.snapshot = self.progress.start()

    def call_started(self, index: int, label: str, estimate: int, replay: bool) -> None:
        """Nothing: the line is printed when the call is done."""

    def call_finished(self, entry: LedgerEntry, batches_done: int, batches_total: int) -> None:
        """One plain line: call n of M, the call's tokens, spend, re-projected cost and ETA."""
        snap = self.snapshot = self.progress.finished(entry)
        source = "replayed from journal" if entry.replayed else f"{entry.seconds:.1f}s"
        retries = f", {entry.attempts - 1} retries" if entry.attempts > 1 else ""
        self.console.print(
            f"call {snap.done}/{snap.total} {entry.label}: prompt {entry.prompt_tokens:,} "
            f"(est {entry.estimate_tokens:,}), cached {entry.cached_tokens:,}, reply {entry.completion_tokens:,}, "
            f"context {entry.prompt_tokens / self.window:.0%}, ${entry.cost_usd:.4f}, {source}{retries} | "
            + _progress_stats(snap),
            soft_wrap=True,
        )

    def note(self, text: str) -> None:
        """A note on its own line."""
        self.console.print(f"note: {text}", soft_wrap=True)

    def close(self) -> None:
        """Nothing to tear down."""


class LiveObserver(PlainObserver):
    """A live bar over every call (batches, summaries, repairs, intro) with tokens, spend and ETA."""

    def __init__(self, console: Console, window: int, planned: Sequence[CallRecord]) -> None:
        super().__init__(console, window, planned)
        self.bar = RichProgress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(bar_width=20),
            TextColumn("call {task.fields[call]}/{task.total}"),
            TextColumn("{task.fields[stats]}"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        first = self.snapshot
        self.task = self.bar.add_task(
            "starting", total=max(1, first.total), call=1, stats=_progress_stats(first)
        )
        self.bar.start()

    def call_started(self, index: int, label: str, estimate: int, replay: bool) -> None:
        """Show which call is in flight: call n of M, n only grows."""
        verb = "replaying" if replay else "calling"
        snap = self.snapshot
        number = snap.done + 1
        self.bar.update(
            self.task,
            description=f"{verb} {label} (~{estimate:,} tokens)",
            call=number,
            total=max(snap.total, number),
        )

    def call_finished(self, entry: LedgerEntry, batches_done: int, batches_total: int) -> None:
        """Advance the bar over all calls; the clock runs until the last one is done."""
        snap = self.snapshot = self.progress.finished(entry)
        stats = f"context {entry.prompt_tokens / self.window:.0%} | " + _progress_stats(snap)
        self.bar.update(self.task, completed=snap.done, total=max(snap.total, 1), call=snap.done, stats=stats)

    def note(self, text: str) -> None:
        """A note above the bar."""
        self.bar.console.print(f"note: {text}", soft_wrap=True)

    def close(self) -> None:
        """Stop the live display."""
        self.bar.stop()


class SceneBar:
    """Progress over a video's scenes as they are spoken: a bar in a terminal, a plain line each elsewhere."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.bar: RichProgress | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        """Scene `done` of `total` is spoken (or taken from the cache)."""
        if not self.console.is_terminal or self.console.is_dumb_terminal:
            self.console.print(f"video: scene {done}/{total} spoken", soft_wrap=True)
            return
        if self.bar is None or self.task is None:  # started lazily: formats without a video show nothing
            self.bar = RichProgress(
                TextColumn("speaking scenes"),
                BarColumn(bar_width=20),
                TextColumn("{task.completed}/{task.total}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self.task = self.bar.add_task("video", total=total)
            self.bar.start()
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        """Stop the bar, if it was shown."""
        if self.bar is not None:
            self.bar.stop()


def make_observer(console: Console, window: int, planned: Sequence[CallRecord]) -> PlainObserver:
    """A live progress bar in a terminal, plain lines elsewhere (CI)."""
    if console.is_terminal and not console.is_dumb_terminal:
        return LiveObserver(console, window, planned)
    return PlainObserver(console, window, planned)


def render_run(console: Console, outcome: RunOutcome) -> None:
    """The table of calls and totals at the end of a run, and where the outputs are."""
    table = Table(title="calls", title_justify="left")
    for name in ("#", "call", "estimate", "prompt", "cached", "reply", "cost", "total"):
        table.add_column(name, justify="left" if name == "call" else "right")
    for e in outcome.entries:
        table.add_row(
            str(e.index),
            e.label + (" (replayed)" if e.replayed else ""),
            f"{e.estimate_tokens:,}",
            f"{e.prompt_tokens:,}",
            f"{e.cached_tokens:,}",
            f"{e.completion_tokens:,}",
            _money(e.cost_usd),
            _money(e.total_cost_usd),
        )
    console.print(table)
    totals = ledger_totals(outcome.entries)
    share = totals["cached_tokens"] / totals["prompt_tokens"] if totals["prompt_tokens"] else 0.0
    console.print(
        f"{totals['calls']} calls, {totals['prompt_tokens']:,} prompt tokens ({share:.0%} cached), "
        f"{totals['completion_tokens']:,} reply tokens, {_money(totals['cost_usd'])}; "
        f"plan projected {outcome.plan.totals.prompt_tokens:,} prompt tokens, {_money(outcome.plan.totals.cost_usd)}"
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
    table = Table(title=f"models at {server}" if server else "models in the catalog", title_justify="left")
    table.add_column("model", overflow="fold")  # folded, never cut with "…": an id must stay copyable
    table.add_column("window", justify="right")
    table.add_column("source")
    for listing in listings:
        window = f"{listing.window:,}" if listing.window else "unknown"
        source = listing.source + (f" ({listing.note})" if listing.note else "")
        table.add_row(listing.id, window, source)
    console.print(table)
