"""What a plan means for the user: how long it will take, and warnings with advice when it is degenerate."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from lessongen.conversation.dry_run import CallRecord, Plan
from lessongen.conversation.history import CallKind
from lessongen.models.speed import Speed


class RateSource(StrEnum):
    """Where a time estimate's speeds came from."""

    PREVIOUS_RUN = "the previous run's ledger"
    PROBE = "this machine's measured speed for the model"
    TYPICAL_SERVER = "a typical hosted server's speed"
    TYPICAL_LOCAL = "a typical in-process speed on a laptop CPU"


@dataclass(frozen=True)
class Rates:
    """How fast a model reads prompts and writes replies, plus a fixed cost per call."""

    prompt_per_second: float
    reply_per_second: float
    seconds_per_call: float
    source: RateSource

    def seconds(self, call: CallRecord) -> float:
        """One call's expected time; cached prompt tokens are not read again."""
        fresh = max(0, call.prompt_tokens - call.cached_tokens)
        return (
            self.seconds_per_call + fresh / self.prompt_per_second + call.reply_tokens / self.reply_per_second
        )


# Documented in the README; the previous run's ledger replaces them when it is there.
TYPICAL_SERVER = Rates(5_000.0, 60.0, 0.5, RateSource.TYPICAL_SERVER)
TYPICAL_LOCAL = Rates(300.0, 15.0, 0.2, RateSource.TYPICAL_LOCAL)


def rates_from_probe(speed: Speed) -> Rates:
    """The rates a probe of the local model measured."""
    return Rates(speed.prompt_per_second, speed.reply_per_second, speed.seconds_per_call, RateSource.PROBE)


def rates_from_ledger(calls: Sequence[Mapping[str, Any]], typical: Rates) -> Rates | None:
    """The typical rates scaled to a previous run's measured time (its calls as run.json holds them)."""
    timed = [c for c in calls if not c.get("replayed") and isinstance(c.get("seconds"), int | float)]
    expected = sum(
        typical.seconds(
            CallRecord(
                0,
                CallKind.BATCH,
                "",
                0,
                int(c["prompt_tokens"]),
                int(c["cached_tokens"]),
                int(c["completion_tokens"]),
                0.0,
                0.0,
            )
        )
        for c in timed
    )
    measured = sum(float(c["seconds"]) for c in timed)
    if not timed or expected <= 0 or measured <= 0:
        return None
    slow = measured / expected
    return Rates(
        typical.prompt_per_second / slow,
        typical.reply_per_second / slow,
        typical.seconds_per_call * slow,
        RateSource.PREVIOUS_RUN,
    )


@dataclass(frozen=True)
class Advice:
    """The plan's time estimate and its warnings, each with what to do."""

    seconds: float
    rates: Rates
    warnings: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        """JSON-ready fields, as `plan --json` holds them under `estimate` and `warnings`."""
        return {
            "estimate": {
                "seconds": round(self.seconds, 1),
                "source": self.rates.source.value,
                "prompt_tokens_per_second": round(self.rates.prompt_per_second, 1),
                "reply_tokens_per_second": round(self.rates.reply_per_second, 2),
            },
            "warnings": list(self.warnings),
        }


HOURS_WARNING = 3_600.0  # a run longer than this gets a warning
SMALL_BATCH_SHARE = 0.25  # batches below this share of the usable window, on average, are "far below"
FREQUENT_SUMMARY = 4  # a summary at least every this many calls
RESENT_SHARE = 0.5  # most of the cost


def advise(plan: Plan, rates: Rates) -> Advice:
    """The time the plan's calls will take at `rates`, and what looks degenerate about it."""
    calls = plan.calls
    seconds = sum(rates.seconds(c) for c in calls)
    warnings: list[str] = []
    if seconds > HOURS_WARNING:
        warnings.append(
            f"about {duration(seconds)} of run time for {len(calls):,} calls (at {rates.source.value}): "
            "narrow the files with --include 'src/**' or --exclude, or use a faster model or a larger window"
        )
    batches = plan.batches
    limit = plan.policy.input_limit
    if len(batches) > 3 and limit:
        mean = sum(b.tokens for b in batches) / len(batches)
        if mean < SMALL_BATCH_SHARE * limit:
            warnings.append(
                f"batches hold {mean:,.0f} source tokens on average, {mean / limit:.0%} of the usable window "
                f"({limit:,}): raise max_batch_tokens (now {plan.prepared.settings.history.max_batch_tokens:,}) "
                "or use a model with a larger window"
            )
    summaries = len(plan.summary_points())
    if summaries >= 3 and len(calls) / summaries <= FREQUENT_SUMMARY:
        warnings.append(
            f"a rolling summary every {len(calls) / summaries:.1f} calls ({summaries:,} summaries): use a larger "
            "window (--context-window or another model), raise summary_threshold or lower summary_reply_tokens"
        )
    model = plan.model
    total = sum(c.cost_usd for c in calls)
    resent = sum(
        (
            max(0, c.prompt_tokens - c.new_tokens - c.cached_tokens) * model.input_price
            + min(c.cached_tokens, c.prompt_tokens - c.new_tokens) * model.cached_input_price
        )
        / 1e6
        for c in calls
    )
    if total > 0 and resent / total > RESENT_SHARE:
        warnings.append(
            f"{resent / total:.0%} of the cost is history sent again: lower keep_recent "
            f"(now {plan.policy.keep_recent}) or summary_threshold, or use a model with prompt caching"
        )
    return Advice(seconds, rates, tuple(warnings))


def duration(seconds: float) -> str:
    """A plan's length for people: 'under a minute', '12 min', '5.2 h', '3.1 days'."""
    if seconds < 60:
        return "under a minute"
    if seconds < 3_600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86_400:
        return f"{seconds / 3_600:.1f} h"
    return f"{seconds / 86_400:.1f} days"
