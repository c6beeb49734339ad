"""The run ledger: every call's estimate, the server's usage, its cost and the running totals."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from lessongen.conversation.history import CallKind


@dataclass(frozen=True)
class LedgerEntry:
    """One call as it happened."""

    index: int
    kind: CallKind
    label: str
    estimate_tokens: int  # our count before sending
    prompt_tokens: int  # the server's count (our estimate when it reported none)
    completion_tokens: int
    cached_tokens: int
    cost_usd: float
    total_cost_usd: float
    finish_reason: str
    attempts: int
    seconds: float
    response_format: str
    usage_reported: bool
    replayed: bool = False  # answered from the journal on resume: not paid again

    def as_json(self) -> dict[str, Any]:
        """JSON-ready fields."""
        return asdict(self)


def estimate_ratio(entries: Sequence[LedgerEntry], recent: int = 3) -> float:
    """How much the server's count exceeds ours: the most over the latest calls with reported usage, at least 1.0.

    Servers that are not OpenAI tokenize differently; later pre-flight checks, cost caps and summary
    decisions scale by this, and the run's note reports it. Only recent calls count because the
    framing overhead weighs less as the prompt grows: the ratio of the first small calls would
    over-scale the large ones. The floor keeps our own count as the lower bound.
    """
    ratios = [e.prompt_tokens / e.estimate_tokens for e in entries if e.usage_reported and e.estimate_tokens]
    return max([1.0, *ratios[-recent:]])


def ledger_totals(entries: Sequence[LedgerEntry]) -> dict[str, Any]:
    """Sums over the ledger."""
    return {
        "calls": len(entries),
        "calls_paid_this_session": sum(1 for e in entries if not e.replayed),
        "prompt_tokens": sum(e.prompt_tokens for e in entries),
        "cached_tokens": sum(e.cached_tokens for e in entries),
        "completion_tokens": sum(e.completion_tokens for e in entries),
        "estimate_tokens": sum(e.estimate_tokens for e in entries),
        "cost_usd": round(sum(e.cost_usd for e in entries), 6),
    }
