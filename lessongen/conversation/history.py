"""The history policy: one growing chat, stubs for answered source, a rolling summary, a pre-flight check.

Both the dry run and the live run drive the conversation through `next_step` and `apply_reply`; only
where the replies come from differs. The limits and the batch fit live in `conversation/fit.py`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from lessongen.conversation.compose import Composer, Message
from lessongen.conversation.fit import (
    CONTEXT_ALLOWANCE,
    MAX_SCENES,
    STUB_ALLOWANCE,
    WORDS_PER_TOKEN,
    CallKind,
    Policy,
    check_budget,
    make_policy,
)
from lessongen.conversation.seen import NONE_SEEN, Seen, SeenSizes, percentile
from lessongen.errors import DoesNotFitError
from lessongen.shared.data import Batch

__all__ = ["CallKind", "Policy", "Seen", "check_budget", "make_policy", "percentile"]

_MIN_FOLDED = 2  # an early summary folds at least this many answered batches
_PAYS_MARGIN = 1.5  # an early summary must save this much more than it costs: it also costs continuity


@dataclass(frozen=True)
class Turn:
    """One request and its answer, as they stand in the history now."""

    kind: CallKind
    request: Message
    reply: Message
    first: int  # 1-based batch numbers this turn covers (a summary covers a range)
    last: int
    stubbed: bool = False
    folded: bool = False  # a note standing for turns dropped without the model


@dataclass(frozen=True)
class ChatState:
    """The conversation so far and what comes next."""

    system: Message
    turns: tuple[Turn, ...] = ()
    next_batch: int = 0
    done: bool = False
    seen: tuple[Seen, ...] = ()
    folds: tuple[str, ...] = ()  # turns dropped without the model to fit the window, for the report
    # `seen` sorted, kept up to date reply by reply (made from `seen` when not given or stale).
    sizes: SeenSizes = field(default=NONE_SEEN, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.sizes.count != len(self.seen):
            object.__setattr__(self, "sizes", SeenSizes.of(self.seen))

    def messages(self) -> tuple[Message, ...]:
        """The history as it would be sent."""
        out = [self.system]
        for turn in self.turns:
            out += [turn.request, turn.reply]
        return tuple(out)


@dataclass(frozen=True)
class PendingCall:
    """The next call: its messages (history plus the new request), their token count and expected reply."""

    kind: CallKind
    messages: tuple[Message, ...]
    request: Message
    prompt_tokens: int
    first: int
    last: int
    scenes: int = MAX_SCENES  # scenes the request asks for (batch calls)
    reply_tokens: int = 0  # the reply the policy expects (learned from the run's replies so far)

    @property
    def label(self) -> str:
        """Short name for logs: batch 3, summary 1-4, intro."""
        if self.kind is CallKind.BATCH:
            return f"batch {self.first}"
        return f"summary {self.first}-{self.last}" if self.kind is CallKind.SUMMARY else "intro"


@dataclass(frozen=True)
class Step:
    """What the policy does next: the state it works from (possibly folded) and the call, if any."""

    state: ChatState
    call: PendingCall | None


def expected_reply(policy: Policy, state: ChatState, kind: CallKind, scenes: int = MAX_SCENES) -> int:
    """The reply size to plan for: a high percentile of those seen so far, else the assumption."""
    seen = state.sizes.percentile(kind)
    if kind is CallKind.BATCH:
        return policy.chapter_reply(scenes, seen)
    if seen is not None:
        return min(policy.max_reply_tokens, math.ceil(seen))
    return policy.projected_reply(kind)


def _scaled(tokens: int, ratio: float) -> int:
    return int(tokens * max(ratio, 1.0))


def _foldable(state: ChatState, keep: int) -> tuple[Turn, ...]:
    older = state.turns[: len(state.turns) - keep] if keep else state.turns
    if not older or (len(older) == 1 and older[0].kind is CallKind.SUMMARY):
        return ()
    return older


def summary_words(reply_tokens: int) -> int:
    """The word limit a summary request names for a reply of this many tokens."""
    return max(40, int(reply_tokens * WORDS_PER_TOKEN))


def _summary_pays(state: ChatState, policy: Policy, remaining: int, summary_reply: int, spared: int) -> bool:
    """Whether folding now costs less than sending the old turns again on the calls it would spare.

    Those are the calls left before the threshold would force a summary anyway, at most the calls
    left in the run.
    """
    older = _foldable(state, policy.keep_recent)
    prices = policy.prices
    resent = prices.cached or prices.input
    answered = sum(t.kind is CallKind.BATCH for t in older)
    if answered < _MIN_FOLDED or not resent:
        return False  # at most every other batch: a summary of one chapter costs continuity for little
    saved = sum(t.request.tokens + t.reply.tokens for t in older) - summary_reply - CONTEXT_ALLOWANCE
    spared = min(remaining, spared)
    # The summary call re-sends the history (mostly cached), writes the summary, and the summary is
    # then sent once uncached (the prefix changes where it starts).
    cost = sum(m.tokens for m in state.messages()) * resent
    cost += summary_reply * (prices.output + prices.input - resent)
    return spared > 1 and spared * saved * resent > _PAYS_MARGIN * cost


def _fold_without_model(state: ChatState, composer: Composer, upto: int) -> ChatState:
    """The oldest `upto` turns replaced by a short note; the chapters already written stay in the script."""
    dropped = state.turns[:upto]
    first, last = dropped[0].first, dropped[-1].last
    request = composer.summary_context(first, last)
    note = Turn(CallKind.SUMMARY, request, composer.folded(first, last), first, last, folded=True)
    text = f"history: parts {first}-{last} were folded without the model to fit the window"
    return replace(state, turns=(note, *state.turns[upto:]), folds=(*state.folds, text))


def _droppable(state: ChatState) -> int:
    """How many of the oldest turns to fold into one note next (0: nothing left to gain)."""
    turns = state.turns
    if not turns or (len(turns) == 1 and turns[0].folded):
        return 0
    return 2 if len(turns) > 1 and turns[0].kind is CallKind.SUMMARY else 1


def _request(
    state: ChatState, batches: Sequence[Batch], composer: Composer, policy: Policy
) -> tuple[CallKind, Message, int, int, int]:
    count = len(batches)
    if state.next_batch < count:
        batch = batches[state.next_batch]
        scenes = policy.scenes_for(batch.tokens)
        return CallKind.BATCH, composer.batch(batch, count, scenes), state.next_batch + 1, 0, scenes
    return CallKind.INTRO, composer.intro_request(count), 0, count, policy.scene_cap


def next_step(
    state: ChatState,
    batches: Sequence[Batch],
    composer: Composer,
    policy: Policy,
    ratio: float = 1.0,
    reused: Mapping[int, Message] | None = None,
) -> Step:
    """The call the policy makes next (None when the lesson is complete), from a possibly folded state.

    `ratio` is how much more the server counts than our tokenizer (measured in the live run); the
    summary decision uses the scaled count so it adapts to servers that tokenize differently.
    `reused` holds answers of a previous lesson by batch number (0: the intro): such a call is not
    made, its answer enters the history as if it had just been given (conversation/reuse.py).
    """
    while not state.done:
        kind, request, first, last, scenes = _request(state, batches, composer, policy)
        last = last or first
        answer = reused.get(first) if reused else None  # an answer of a previous lesson: no call
        reply = expected_reply(policy, state, kind, scenes)
        history = state.messages()
        tokens = composer.prompt_tokens(history) + request.tokens
        over = _scaled(tokens, ratio) + reply > policy.summary_at
        summary_reply = expected_reply(policy, state, CallKind.SUMMARY)
        older = _foldable(state, policy.keep_recent)
        room = policy.summary_at - _scaled(tokens, ratio) - reply
        spared = 1 + room // (reply + STUB_ALLOWANCE)  # calls before the threshold forces a summary
        # The calls left to make: batch calls and the intro, less the answers reused from a lesson.
        remaining = len(batches) - state.next_batch + 1
        remaining -= sum(n > state.next_batch or n == 0 for n in reused) if reused else 0
        # Only a call made can pay for a summary; before a reused answer only the threshold forces one.
        pays = answer is None and not over and _summary_pays(state, policy, remaining, summary_reply, spared)
        if older and (over or pays):
            ask = composer.summary_request(summary_words(summary_reply))
            asked = composer.prompt_tokens(history) + ask.tokens
            if _scaled(asked, ratio) <= policy.input_limit:  # a summary may use the whole usable window
                call = PendingCall(
                    CallKind.SUMMARY,
                    (*history, ask),
                    ask,
                    asked,
                    older[0].first,
                    older[-1].last,
                    reply_tokens=summary_reply,
                )
                return Step(state, call)
        # Fold without the model when the summary did not fit, or nothing is left to summarise and
        # the call itself would be refused.
        stuck = (older and over) or _scaled(tokens, ratio) > policy.refuse_at
        drop = _droppable(state) if stuck else 0
        if drop:
            # Even the summary cannot be sent (or nothing is left to summarise): fold the oldest turns
            # without the model and decide again; each fold leaves fewer or smaller turns.
            state = _fold_without_model(state, composer, drop)
            continue
        call = PendingCall(kind, (*history, request), request, tokens, first, last, scenes, reply)
        if answer is None:
            return Step(state, call)
        state = apply_reply(state, call, answer, batches, composer, policy.keep_recent)
    return Step(state, None)


def preflight(call: PendingCall, policy: Policy, ratio: float = 1.0) -> None:
    """Refuse a call whose prompt (scaled by the measured estimate/actual ratio) passes its limit.

    A summary may use the whole usable window: it is the call that makes room.
    """
    limit = policy.input_limit if call.kind is CallKind.SUMMARY else policy.refuse_at
    check_prompt(call.label, call.prompt_tokens, policy, ratio, limit)


def check_prompt(
    label: str, prompt_tokens: int, policy: Policy, ratio: float = 1.0, limit: int | None = None
) -> None:
    """The pre-flight check for any prompt, planned or not (a repair turn)."""
    limit = policy.refuse_at if limit is None else limit
    expected = _scaled(prompt_tokens, ratio)
    if expected > limit:
        raise DoesNotFitError(
            f"{label} would send {expected:,} prompt tokens, above the pre-flight limit of "
            f"{limit:,} ({policy.input_limit:,} usable)",
            f"lower max_batch_tokens below {policy.max_batch_for(expected - limit):,} (the batches change, "
            "so saved answers are not reused), or use a model with a larger window",
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
    one = Seen(call.kind, call.scenes, max(0, reply.tokens - composer.framing(reply.role)))
    seen, sizes = (*state.seen, one), state.sizes.plus(one)
    if call.kind is CallKind.SUMMARY:
        older = _foldable(state, keep)
        context = composer.summary_context(call.first, call.last)
        folded = Turn(CallKind.SUMMARY, context, reply, call.first, call.last)
        return replace(state, turns=(folded, *state.turns[len(older) :]), seen=seen, sizes=sizes)
    turn = Turn(call.kind, call.request, reply, call.first, call.last)
    if call.kind is CallKind.INTRO:
        return replace(state, turns=(*state.turns, turn), done=True, seen=seen, sizes=sizes)
    turns = [*state.turns, turn]
    if state.next_batch + 1 >= len(batches):
        keep = 0  # the intro sees chapters, never source: every batch is a stub before it
    answered = [i for i, t in enumerate(turns) if t.kind is CallKind.BATCH]
    for i in answered[: len(answered) - keep] if keep else answered:
        if not turns[i].stubbed:
            stub = composer.stub(batches[turns[i].first - 1], len(batches))
            turns[i] = replace(turns[i], request=stub, stubbed=True)
    return replace(state, turns=tuple(turns), next_batch=state.next_batch + 1, seen=seen, sizes=sizes)
