"""The history policy: one growing chat, stubs for answered source, a rolling summary, a pre-flight check.

Both the dry run and the live run drive the conversation through `next_call` and `apply_reply`; only
where the replies come from differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from lessongen.config.groups import HistorySettings
from lessongen.conversation.compose import Composer, Message
from lessongen.errors import DoesNotFitError
from lessongen.models.catalog import ModelInfo
from lessongen.shared.data import Batch

# Room left after a summary for a few more batches before the next one is needed.
_CALLS_BETWEEN_SUMMARIES = 3
_STUB_ALLOWANCE = 64
_MIN_BATCH_TOKENS = 256


class CallKind(StrEnum):
    """What a model call is for."""

    BATCH = "batch"
    SUMMARY = "summary"
    INTRO = "intro"
    REPAIR = "repair"  # a second try at an unusable chapter reply (never planned)


@dataclass(frozen=True)
class Policy:
    """The token limits every call is held to."""

    input_limit: int  # most prompt tokens a call may carry (window minus reply reserve, max input)
    max_reply_tokens: int  # reserved in the window and sent as the call's max tokens
    keep_recent: int
    summary_at: int  # fold old turns when prompt + projected reply would pass this
    refuse_at: int  # never send a prompt above this
    batch_reply: int
    summary_reply: int
    intro_reply: int
    max_batch_tokens: int

    def projected_reply(self, kind: CallKind) -> int:
        """The reply size assumed for a call of this kind."""
        return {CallKind.BATCH: self.batch_reply, CallKind.SUMMARY: self.summary_reply}.get(
            kind, self.intro_reply
        )

    def batch_budget(self, fixed_tokens: int) -> int:
        """Source tokens per batch so that K kept batches, a summary and a new batch fit under summary_at.

        It leaves room for a few calls between summaries (so the cached prefix is reused), fewer when
        the window is small.
        """
        budget = 0
        for calls_between in range(_CALLS_BETWEEN_SUMMARIES, -1, -1):
            room = calls_between * (self.batch_reply + _STUB_ALLOWANCE)
            spare = self.summary_at - fixed_tokens - self.summary_reply - room
            spare -= (self.keep_recent + 1) * self.batch_reply
            budget = min(self.max_batch_tokens, spare // (self.keep_recent + 1))
            if budget >= _MIN_BATCH_TOKENS:
                break
        return budget


def make_policy(model: ModelInfo, history: HistorySettings) -> Policy:
    """Turn the model's window and the history settings into token limits."""
    reserve = min(history.max_reply_tokens, model.max_output_tokens, max(model.context_window // 4, 16))
    limit = min(model.input_limit, model.context_window - reserve)
    return Policy(
        input_limit=limit,
        max_reply_tokens=reserve,
        keep_recent=history.keep_recent,
        summary_at=int(limit * history.summary_threshold),
        refuse_at=int(limit * history.preflight_limit),
        batch_reply=min(history.reply_tokens, reserve),
        summary_reply=min(history.summary_reply_tokens, reserve),
        intro_reply=min(history.intro_reply_tokens, reserve),
        max_batch_tokens=history.max_batch_tokens,
    )


def check_budget(policy: Policy, budget: int, fixed_tokens: int) -> None:
    """Refuse a window too small to hold the system prompt, a summary and one batch."""
    if budget < _MIN_BATCH_TOKENS:
        raise DoesNotFitError(
            f"the usable window of {policy.input_limit:,} tokens cannot hold the system prompt "
            f"({fixed_tokens:,}), a summary and a batch of source",
            "use a model with a larger window, or lower reply_tokens / max_reply_tokens / keep_recent",
        )


@dataclass(frozen=True)
class Turn:
    """One request and its answer, as they stand in the history now."""

    kind: CallKind
    request: Message
    reply: Message
    first: int  # 1-based batch numbers this turn covers (a summary covers a range)
    last: int
    stubbed: bool = False


@dataclass(frozen=True)
class ChatState:
    """The conversation so far and what comes next."""

    system: Message
    turns: tuple[Turn, ...] = ()
    next_batch: int = 0
    done: bool = False

    def messages(self) -> tuple[Message, ...]:
        """The history as it would be sent."""
        out = [self.system]
        for turn in self.turns:
            out += [turn.request, turn.reply]
        return tuple(out)


@dataclass(frozen=True)
class PendingCall:
    """The next call: its messages (history plus the new request) and their token count."""

    kind: CallKind
    messages: tuple[Message, ...]
    request: Message
    prompt_tokens: int
    first: int
    last: int

    @property
    def label(self) -> str:
        """Short name for logs: batch 3, summary 1-4, intro."""
        if self.kind is CallKind.BATCH:
            return f"batch {self.first}"
        return f"summary {self.first}-{self.last}" if self.kind is CallKind.SUMMARY else "intro"


def _foldable(state: ChatState, keep: int) -> tuple[Turn, ...]:
    older = state.turns[: len(state.turns) - keep] if keep else state.turns
    if not older or (len(older) == 1 and older[0].kind is CallKind.SUMMARY):
        return ()
    return older


def next_call(
    state: ChatState,
    batches: Sequence[Batch],
    composer: Composer,
    policy: Policy,
    ratio: float = 1.0,
    summary_words: int = 600,
) -> PendingCall | None:
    """The call the policy makes next, or None when the lesson is complete.

    `ratio` is how much more the server counts than our tokenizer (measured in the live run); the
    summary decision uses the scaled count so it adapts to servers that tokenize differently.
    """
    if state.done:
        return None
    history = state.messages()
    count = len(batches)
    if state.next_batch < count:
        kind, request = CallKind.BATCH, composer.batch(batches[state.next_batch], count)
        first = last = state.next_batch + 1
    else:
        kind, request, first, last = CallKind.INTRO, composer.intro_request(count), 0, count
    tokens = composer.prompt_tokens(history) + request.tokens
    if int(tokens * max(ratio, 1.0)) + policy.projected_reply(kind) > policy.summary_at:
        older = _foldable(state, policy.keep_recent)
        if older:
            request = composer.summary_request(summary_words)
            return PendingCall(
                CallKind.SUMMARY,
                (*history, request),
                request,
                composer.prompt_tokens(history) + request.tokens,
                older[0].first,
                older[-1].last,
            )
    return PendingCall(kind, (*history, request), request, tokens, first, last)


def preflight(call: PendingCall, policy: Policy, ratio: float = 1.0) -> None:
    """Refuse a call whose prompt (scaled by the measured estimate/actual ratio) passes refuse_at."""
    check_prompt(call.label, call.prompt_tokens, policy, ratio)


def check_prompt(label: str, prompt_tokens: int, policy: Policy, ratio: float = 1.0) -> None:
    """The pre-flight check for any prompt, planned or not (a repair turn)."""
    expected = int(prompt_tokens * max(ratio, 1.0))
    if expected > policy.refuse_at:
        raise DoesNotFitError(
            f"{label} would send {expected:,} prompt tokens, above the pre-flight limit of "
            f"{policy.refuse_at:,} ({policy.input_limit:,} usable)",
            "lower max_batch_tokens or keep_recent, or use a model with a larger window",
        )


def apply_reply(
    state: ChatState,
    call: PendingCall,
    reply: Message,
    batches: Sequence[Batch],
    composer: Composer,
    keep: int,
) -> ChatState:
    """The history after a call is answered: append, stub old source, or fold into the summary."""
    if call.kind is CallKind.SUMMARY:
        older = _foldable(state, keep)
        context = composer.summary_context(call.first, call.last)
        folded = Turn(CallKind.SUMMARY, context, reply, call.first, call.last)
        return replace(state, turns=(folded, *state.turns[len(older) :]))
    turn = Turn(call.kind, call.request, reply, call.first, call.last)
    if call.kind is CallKind.INTRO:
        return replace(state, turns=(*state.turns, turn), done=True)
    turns = [*state.turns, turn]
    answered = [i for i, t in enumerate(turns) if t.kind is CallKind.BATCH]
    for i in answered[: len(answered) - keep] if keep else answered:
        if not turns[i].stubbed:
            stub = composer.stub(batches[turns[i].first - 1], len(batches))
            turns[i] = replace(turns[i], request=stub, stubbed=True)
    return replace(state, turns=tuple(turns), next_batch=state.next_batch + 1)


def cached_prefix(previous: Sequence[Sequence[Message]], messages: Sequence[Message], recent: int = 3) -> int:
    """Tokens of the longest message prefix shared with one of the last few requests.

    The conversation only grows or changes near its end, so older requests never share more.
    """
    best = 0
    for earlier in previous[-recent:]:
        shared = 0
        for a, b in zip(earlier, messages, strict=False):
            if a != b:
                break
            shared += a.tokens
        best = max(best, shared)
    return best


def billable_cached(prefix_tokens: int, minimum: int = 1024, step: int = 128) -> int:
    """How much of a shared prefix a provider bills as cached: nothing below 1,024, then 128-token steps."""
    if prefix_tokens < minimum:
        return 0
    return minimum + (prefix_tokens - minimum) // step * step
