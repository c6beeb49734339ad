"""Progress over every call of a live run (batches, summaries, repairs, intro): counts that never go back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lessongen.conversation.dry_run import CallRecord
from lessongen.conversation.history import CallKind
from lessongen.conversation.ledger import LedgerEntry


@dataclass(frozen=True)
class Snapshot:
    """Where the run is after a call: call n of M, reply tokens, spend, the re-projected cost and an ETA."""

    done: int  # calls finished, replayed ones included
    total: int  # done plus the planned calls still ahead; grows with repairs, never below done
    reply_tokens: int
    spent_usd: float
    projected_usd: float  # spent plus what is ahead, scaled by how the calls so far compared to the plan
    eta_seconds: float | None  # None until a call was paid for (replays take no time worth projecting)

    @property
    def remaining(self) -> int:
        """Calls still ahead."""
        return self.total - self.done


class Progress:
    """Follows the ledger against the plan's calls; the live view and the CI log show its snapshots."""

    def __init__(self, planned: Sequence[CallRecord]) -> None:
        self.planned = tuple(planned)
        self.entries: list[LedgerEntry] = []

    def start(self) -> Snapshot:
        """Before the first call."""
        return self._snapshot()

    def finished(self, entry: LedgerEntry) -> Snapshot:
        """After a call."""
        self.entries.append(entry)
        return self._snapshot()

    def _snapshot(self) -> Snapshot:
        entries = self.entries
        made = sum(1 for e in entries if e.kind is not CallKind.REPAIR)  # a repair is no planned call
        ahead = self.planned[made:]
        # The intro is the last planned call: once it is answered nothing is ahead, and a run whose
        # replies moved the summary points past the plan's calls still has the intro ahead.
        if entries and entries[-1].kind is CallKind.INTRO:
            remaining = 0
        else:
            remaining = len(ahead) if ahead or not made else 1
        spent = sum(e.cost_usd for e in entries)
        planned_so_far = sum(c.cost_usd for c in self.planned[:made])
        scale = spent / planned_so_far if planned_so_far > 0 and entries else 1.0
        paid = [e.seconds for e in entries if not e.replayed]
        eta = sum(paid) / len(paid) * remaining if paid else None
        return Snapshot(
            done=len(entries),
            total=len(entries) + remaining,
            reply_tokens=sum(e.completion_tokens for e in entries),
            spent_usd=spent,
            projected_usd=spent + scale * sum(c.cost_usd for c in ahead),
            eta_seconds=eta,
        )


def clock(seconds: float) -> str:
    """A duration for people: '45s', '3m05s', '2h10m'."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"
