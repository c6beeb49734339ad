"""Reply sizes as they really are: learned in a run, kept in run.json, assumed by the next plan."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from lessongen.conversation.dry_run import simulate
from lessongen.conversation.fit import MAX_SCENES, CallKind, Policy
from lessongen.conversation.history import ChatState
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.seen import percentile
from lessongen.shared.safe_read import STATE_FILE_LIMIT, read_text


@dataclass(frozen=True)
class ReplySizes:
    """A high percentile of the reply sizes of one run, per kind (None: none seen)."""

    per_scene: float | None = None  # chapter tokens per scene asked for
    summary: int | None = None
    intro: int | None = None

    def as_json(self) -> dict[str, Any]:
        """The `reply_sizes` block of run.json."""
        per_scene = None if self.per_scene is None else round(self.per_scene, 1)
        return {"tokens_per_scene": per_scene, "summary_tokens": self.summary, "intro_tokens": self.intro}


def learned(state: ChatState) -> ReplySizes:
    """The reply sizes a run has seen, by the same percentile its decisions use."""

    def of(kind: CallKind) -> list[float]:
        return [float(s.tokens) for s in state.seen if s.kind is kind]

    scenes = [s.tokens / max(s.scenes, 1) for s in state.seen if s.kind is CallKind.BATCH]
    summaries, intros = of(CallKind.SUMMARY), of(CallKind.INTRO)
    return ReplySizes(
        percentile(scenes) if scenes else None,
        math.ceil(percentile(summaries)) if summaries else None,
        math.ceil(percentile(intros)) if intros else None,
    )


def read_reply_sizes(run_json: Path) -> ReplySizes | None:
    """The reply sizes of an earlier complete run, from its run.json (None when there is none)."""
    try:
        data = json.loads(read_text(run_json, STATE_FILE_LIMIT))
    except (OSError, ValueError):  # none, unreadable or damaged: the settings' assumptions stand
        return None
    block = data.get("reply_sizes") if isinstance(data, dict) and data.get("complete") is True else None
    if not isinstance(block, dict):
        return None

    def number(key: str) -> float | None:
        value = block.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1e6:
            return None
        return float(value)

    summary, intro = number("summary_tokens"), number("intro_tokens")
    sizes = ReplySizes(
        number("tokens_per_scene"),
        None if summary is None else int(summary),
        None if intro is None else int(intro),
    )
    return sizes if sizes != ReplySizes() else None


def with_reply_sizes(policy: Policy, sizes: ReplySizes) -> Policy:
    """The policy assuming these reply sizes where they are known."""
    return replace(
        policy,
        batch_reply=policy.batch_reply
        if sizes.per_scene is None
        else math.ceil(sizes.per_scene * MAX_SCENES),
        summary_reply=policy.summary_reply
        if sizes.summary is None
        else min(sizes.summary, policy.max_reply_tokens),
        intro_reply=policy.intro_reply if sizes.intro is None else min(sizes.intro, policy.max_reply_tokens),
    )


def scaled(policy: Policy, factor: float) -> Policy:
    """The policy assuming replies `factor` times the size it assumes now."""
    return replace(
        policy,
        batch_reply=max(1, round(policy.batch_reply * factor)),
        summary_reply=max(1, min(round(policy.summary_reply * factor), policy.max_reply_tokens)),
        intro_reply=max(1, min(round(policy.intro_reply * factor), policy.max_reply_tokens)),
    )


def cost_if(prepared: Prepared, factor: float) -> float | None:
    """The projected cost with replies `factor` times the assumed size (None: a call would not fit)."""
    policy = scaled(prepared.policy, factor)
    simulation = simulate(prepared.batches, prepared.composer, policy, prepared.model, reused=prepared.reused)
    return None if simulation.refused else sum(c.cost_usd for c in simulation.calls)


def rest_of_run(prepared: Prepared, state: ChatState, complete: bool) -> dict[str, Any]:
    """The calls left and their cost, re-projected from where the run stopped with the replies it saw."""
    if complete:
        return {"calls": 0, "cost_usd": 0.0}
    policy = with_reply_sizes(prepared.policy, learned(state))
    simulation = simulate(
        prepared.batches, prepared.composer, policy, prepared.model, start=state, reused=prepared.reused
    )
    return {
        "calls": len(simulation.calls),
        "cost_usd": round(sum(c.cost_usd for c in simulation.calls), 6),
        "does_not_fit": simulation.refused.one_line() if simulation.refused else None,
    }


def earlier_note(earlier: ReplySizes | None) -> str:
    """The plan's note that an earlier run's reply sizes are assumed."""
    if earlier is None:
        return ""
    sizes = ", ".join(f"{k} {v:,}" for k, v in earlier.as_json().items() if v is not None)
    return f"replies are assumed as the earlier run in the output folder had them ({sizes})"
