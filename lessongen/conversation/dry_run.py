"""The dry run: drive the history policy with projected replies and account every call."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from lessongen.conversation.caching import CACHE_LOOKBACK, billable_cached, cached_prefix
from lessongen.conversation.compose import Composer, Message
from lessongen.conversation.history import CallKind, ChatState, Policy, apply_reply, next_step, preflight
from lessongen.conversation.prepared import Prepared
from lessongen.errors import DoesNotFitError
from lessongen.models.catalog import ModelInfo
from lessongen.repo.secrets import SecretFinding, SecretsMode
from lessongen.shared.data import Batch, FilePart, RepoScan


class Verdict(StrEnum):
    """The plan's outcome; each maps to an exit code."""

    FITS = "fits"
    DOES_NOT_FIT = "does-not-fit"
    OVER_BUDGET = "over-budget"
    NOTHING_TO_SEND = "nothing-to-send"


@dataclass(frozen=True)
class CallRecord:
    """One call of the conversation with its token accounting."""

    index: int  # 1-based
    kind: CallKind
    label: str
    new_tokens: int  # the request message added by this call
    prompt_tokens: int
    cached_tokens: int
    reply_tokens: int
    cost_usd: float
    cost_usd_without_cache: float


@dataclass(frozen=True)
class Simulation:
    """Calls the policy makes with replies of the assumed sizes; `refused` when one cannot be sent."""

    calls: tuple[CallRecord, ...]
    refused: DoesNotFitError | None
    folds: tuple[str, ...] = ()  # turns the policy dropped without the model to fit the window


def simulate(
    batches: Sequence[Batch],
    composer: Composer,
    policy: Policy,
    model: ModelInfo,
    start: ChatState | None = None,
    reused: Mapping[int, Message] | None = None,
) -> Simulation:
    """Run the conversation exactly as the live run would, with projected replies.

    From `start` (a live run's state) it projects the rest of a run with the reply sizes seen so far;
    `reused` answers of a previous lesson enter the history without a call (an update or a redo).
    """
    composer = composer.projecting()  # nothing is sent: a batch message's tokens are all it needs
    state = start or ChatState(system=composer.system())
    sent: list[tuple[Message, ...]] = []
    calls: list[CallRecord] = []
    while True:
        step = next_step(state, batches, composer, policy, reused=reused)
        state, call = step.state, step.call
        if call is None:
            break
        try:
            preflight(call, policy)
        except DoesNotFitError as refusal:
            return Simulation(tuple(calls), refusal, state.folds)
        reply_tokens = call.reply_tokens
        cached = billable_cached(cached_prefix(sent, call.messages))
        cost = model.cost(call.prompt_tokens, reply_tokens, cached)
        cost_plain = model.cost(call.prompt_tokens, reply_tokens)
        index = len(calls) + 1
        calls.append(
            CallRecord(
                index,
                call.kind,
                call.label,
                call.request.tokens,
                call.prompt_tokens,
                cached,
                reply_tokens,
                cost,
                cost_plain,
            )
        )
        sent.append(call.messages)
        del sent[:-CACHE_LOOKBACK]  # only the last few are compared: the older ones' texts can go
        reply = composer.projected_reply(str(index), reply_tokens)
        state = apply_reply(state, call, reply, batches, composer, policy.keep_recent)
    return Simulation(tuple(calls), None, state.folds)


@dataclass(frozen=True)
class Totals:
    """Sums over the plan."""

    files_included: int
    files_skipped: int
    source_tokens: int
    prompt_tokens: int
    cached_tokens: int
    reply_tokens: int
    peak_prompt_tokens: int
    cost_usd: float
    cost_usd_without_cache: float


@dataclass(frozen=True)
class Replay:
    """The calls of this plan a resume answers from the saved run in the output folder."""

    calls: int  # replayed, not paid again: the first `calls` of the run
    saved: int  # answers saved there


@dataclass(frozen=True)
class Plan:
    """Everything a user needs to decide whether to spend money on a run."""

    prepared: Prepared  # the model, policy, scan, parts and batches the plan is about
    calls: tuple[CallRecord, ...]
    verdict: Verdict
    reason: str
    cost_if_half: float | None = None  # the projected cost if replies are half the assumed size
    cost_if_twice: float | None = None  # ... and twice it
    replay: Replay | None = None  # what a --resume on the output folder's saved run would replay

    @property
    def model(self) -> ModelInfo:
        """The model's facts."""
        return self.prepared.model

    @property
    def encoding(self) -> str:
        """The token counter's encoding."""
        return self.prepared.counter.encoding_name

    @property
    def policy(self) -> Policy:
        """The history policy the calls follow."""
        return self.prepared.policy

    @property
    def batch_budget(self) -> int:
        """Source tokens per batch."""
        return self.prepared.budget

    @property
    def system_tokens(self) -> int:
        """Tokens of the system prompt."""
        return self.prepared.system_tokens

    @property
    def scan(self) -> RepoScan:
        """What the walk found and left out."""
        return self.prepared.scan

    @property
    def parts(self) -> tuple[FilePart, ...]:
        """One whole-file part per included file, with its tokens."""
        return self.prepared.parts

    @property
    def batches(self) -> tuple[Batch, ...]:
        """The batches, in teaching order."""
        return self.prepared.batches

    @property
    def max_cost(self) -> float | None:
        """The --max-cost cap, if any."""
        return self.prepared.settings.caps.max_cost

    @property
    def secrets_mode(self) -> SecretsMode:
        """What was done with the secrets found."""
        return self.prepared.settings.walk.secrets

    @property
    def secrets(self) -> tuple[SecretFinding, ...]:
        """Secrets found in the files (values never kept)."""
        return self.prepared.secrets

    @property
    def totals(self) -> Totals:
        """Sums over files and calls."""
        calls = self.calls
        return Totals(
            files_included=len(self.parts),
            files_skipped=len(self.scan.skipped),
            source_tokens=sum(p.tokens for p in self.parts),
            prompt_tokens=sum(c.prompt_tokens for c in calls),
            cached_tokens=sum(c.cached_tokens for c in calls),
            reply_tokens=sum(c.reply_tokens for c in calls),
            peak_prompt_tokens=max((c.prompt_tokens for c in calls), default=0),
            cost_usd=sum(c.cost_usd for c in calls),
            cost_usd_without_cache=sum(c.cost_usd_without_cache for c in calls),
        )

    def skipped_by_reason(self) -> list[tuple[str, int]]:
        """How many paths each reason left out, most first."""
        return Tally(s.reason for s in self.scan.skipped).most_common()

    def cost_after_replay(self) -> float:
        """The projected cost of the calls a resume would still pay for."""
        return sum(c.cost_usd for c in self.calls[self.replay.calls if self.replay else 0 :])

    def summary_points(self) -> tuple[int, ...]:
        """1-based indexes of the summary calls."""
        return tuple(c.index for c in self.calls if c.kind is CallKind.SUMMARY)


def judge(simulation: Simulation, model: ModelInfo, max_cost: float | None) -> tuple[Verdict, str]:
    """Fits, does not fit (a call would be refused) or over budget (projected cost above --max-cost)."""
    if simulation.refused is not None:
        return Verdict.DOES_NOT_FIT, simulation.refused.one_line()
    cost = sum(c.cost_usd for c in simulation.calls)
    if max_cost is not None and cost > max_cost:
        return Verdict.OVER_BUDGET, f"projected cost ${cost:.4f} is above --max-cost ${max_cost:.4f}"
    peak = max((c.prompt_tokens for c in simulation.calls), default=0)
    return Verdict.FITS, f"every call fits: peak prompt {peak:,} of {model.context_window:,} tokens"
