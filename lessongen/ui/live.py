"""Progress while work runs: a line per call in CI, a live bar over every call in a terminal, the video's scenes."""

from __future__ import annotations

from collections.abc import Sequence

from lessongen.conversation.dry_run import CallRecord
from lessongen.conversation.ledger import LedgerEntry
from lessongen.conversation.progress import Progress, Snapshot, clock
from lessongen.ui.terminal import Bar, Console, TaskID, call_bar, is_live, money, scene_bar


def _progress_stats(snap: Snapshot) -> str:
    eta = clock(snap.eta_seconds) if snap.eta_seconds is not None else "--"
    return (
        f"reply {snap.reply_tokens:,} tokens | {money(snap.spent_usd)} of ~{money(snap.projected_usd)} | "
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
        self.bar = call_bar(console)
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
        self.bar: Bar | None = None
        self.task: TaskID | None = None

    def __call__(self, done: int, total: int) -> None:
        """Scene `done` of `total` is spoken (or taken from the cache)."""
        if not is_live(self.console):
            self.console.print(f"video: scene {done}/{total} spoken", soft_wrap=True)
            return
        if self.bar is None or self.task is None:  # started lazily: formats without a video show nothing
            self.bar = scene_bar(self.console)
            self.task = self.bar.add_task("video", total=total)
            self.bar.start()
        self.bar.update(self.task, completed=done, total=total)

    def close(self) -> None:
        """Stop the bar, if it was shown."""
        if self.bar is not None:
            self.bar.stop()


def make_observer(console: Console, window: int, planned: Sequence[CallRecord]) -> PlainObserver:
    """A live progress bar in a terminal, plain lines elsewhere (CI)."""
    if is_live(console):
        return LiveObserver(console, window, planned)
    return PlainObserver(console, window, planned)
