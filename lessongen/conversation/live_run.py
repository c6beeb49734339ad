"""The live run: the history policy driven by a real model, every answer journaled before it is used."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from lessongen.conversation.compose import Message
from lessongen.conversation.history import (
    CallKind,
    ChatState,
    PendingCall,
    apply_reply,
    check_prompt,
    next_step,
    preflight,
)
from lessongen.conversation.journal import Journal, request_key
from lessongen.conversation.ledger import LedgerEntry, estimate_ratio
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.received import bound_reply, check_usage
from lessongen.conversation.reuse import REPAIR_SEPARATOR
from lessongen.errors import DoesNotFitError, OverBudgetError
from lessongen.models.seam import ChatModel, Completion
from lessongen.script.chapter_schema import chapter_schema
from lessongen.script.scenes import Chapter, ReplyError, flagged_chapter, parse_chapter


class RunObserver(Protocol):
    """Receives progress for the live view or the CI log."""

    def call_started(self, index: int, label: str, estimate: int, replay: bool) -> None: ...

    def call_finished(self, entry: LedgerEntry, batches_done: int, batches_total: int) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class Conversation:
    """The mutable state of one run: the chat, the chapters written so far and the ledger."""

    state: ChatState
    chapters: dict[int, Chapter] = field(default_factory=dict)  # by batch number, 0 for the intro
    replies: dict[int, str] = field(default_factory=dict)  # the answers as the history holds them, likewise
    entries: list[LedgerEntry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class Runner:
    """Drives one growing chat through the history policy, exactly as the plan simulated it."""

    def __init__(
        self,
        prepared: Prepared,
        model: ChatModel,
        journal: Journal,
        observer: RunObserver,
    ) -> None:
        self.p = prepared
        self.model = model
        self.journal = journal
        self.observer = observer
        self.chat = Conversation(ChatState(system=prepared.composer.system()))
        if prepared.reuse is not None:  # an update or a redo: the previous lesson's chapters stand
            self.chat.chapters.update(prepared.reuse.chapters)
            self.chat.replies.update({n: m.content for n, m in prepared.reuse.replies.items()})

    def run(self) -> Conversation:
        """Make every call until the intro is written; raises a LessongenError to stop early."""
        p = self.p
        while True:
            ratio = estimate_ratio(self.chat.entries)
            step = next_step(self.chat.state, p.batches, p.composer, p.policy, ratio, p.reused)
            for fold in step.state.folds[len(self.chat.state.folds) :]:
                self._note(fold)
            self.chat.state, call = step.state, step.call
            if call is None:
                return self.chat
            preflight(call, p.policy, ratio)
            if call.kind is CallKind.SUMMARY:
                text = self._ask(call.kind, call.label, call.messages, call.prompt_tokens, None).text
                if not text.strip():
                    text = "(the model returned an empty summary)"
                    self._note(f"{call.label}: empty summary")
            else:
                text, chapter = self._chapter(call)
                self.chat.chapters[call.first] = replace(chapter, batch=call.first)
                self.chat.replies[call.first] = text
            reply = p.composer.reply(text)
            self.chat.state = apply_reply(
                self.chat.state, call, reply, p.batches, p.composer, p.policy.keep_recent
            )

    def _note(self, text: str) -> None:
        self.chat.notes.append(text)
        self.observer.note(text)

    def _schema(self, call: PendingCall) -> dict[str, object]:
        """The bounded chapter schema for this call: its scene count, and anchors into its own files."""
        p = self.p
        if call.kind is CallKind.BATCH:
            return chapter_schema(p.batches[call.first - 1].paths, call.scenes)
        return chapter_schema([part.path for part in p.parts], call.scenes)

    def _chapter(self, call: PendingCall) -> tuple[str, Chapter]:
        source = call.label
        schema = self._schema(call)
        first = self._ask(call.kind, call.label, call.messages, call.prompt_tokens, schema)
        try:
            return first.text, parse_chapter(first.text, source)
        except ReplyError as problem:
            reason = str(problem)
        ask = reason
        if first.finish_reason == "length":
            reason = f"the answer was cut off at the reply limit and {reason}"
            ask = (
                f"{reason}; answer with fewer scenes"  # for the model only: notes and flags say what happened
            )
        repair = self.p.composer.repair_request(ask)
        messages = (*call.messages, self.p.composer.reply(first.text), repair)
        estimate = self.p.composer.prompt_tokens(messages)
        try:
            check_prompt(f"repair {call.label}", estimate, self.p.policy, estimate_ratio(self.chat.entries))
            second = self._ask(CallKind.REPAIR, f"repair {call.label}", messages, estimate, schema)
        except DoesNotFitError:
            self._note(
                f"{source}: the reply was unusable ({reason}) and a repair turn would not fit; kept raw"
            )
            return first.text, flagged_chapter(first.text, source, reason)
        try:
            chapter = parse_chapter(second.text, source)
            self._note(f"{source}: repaired after {reason}")
            return second.text, chapter
        except ReplyError as again:
            self._note(f"{source}: still unusable after one repair turn ({again}); kept as a flagged scene")
            kept = f"{first.text}{REPAIR_SEPARATOR}{second.text}"
            return second.text, flagged_chapter(kept, source, f"{reason}; after repair: {again}")

    def _ask(
        self,
        kind: CallKind,
        label: str,
        messages: Sequence[Message],
        estimate: int,
        schema: dict[str, object] | None,
    ) -> Completion:
        p = self.p
        index = len(self.chat.entries) + 1
        wire = [m.as_dict() for m in messages]
        max_tokens = p.policy.max_reply_tokens
        # Found by content, not by call number: a request answered before is replayed wherever a
        # changed setting moved it. The reply limit is not in the key (it follows the window).
        key = request_key(wire, p.model.name)
        saved = self.journal.lookup(key, max_tokens)
        if saved is not None and p.reuse is not None and saved.completion.text.strip() in p.reuse.rejected:
            saved = None  # an answer the user asked again with --redo: asked anew, not replayed
        self.observer.call_started(index, label, estimate, saved is not None)
        if saved is not None:  # bounded again: an answer saved by an older version may be larger
            completion, seconds = self._bounded(index, saved.completion, max_tokens), saved.seconds
        else:
            self._check_caps(estimate, max_tokens)
            started = time.monotonic()
            completion = self.model.complete(wire, max_tokens, schema)
            seconds = time.monotonic() - started
            completion = self._bounded(index, completion, max_tokens)
            self.journal.save(index, key, label, completion, seconds, max_tokens)
        entry = self._entry(index, kind, label, estimate, completion, seconds, replayed=saved is not None)
        self.chat.entries.append(entry)
        self.observer.call_finished(
            entry, self.chat.state.next_batch + (kind is CallKind.BATCH), len(p.batches)
        )
        return completion

    def _entry(
        self,
        index: int,
        kind: CallKind,
        label: str,
        estimate: int,
        completion: Completion,
        seconds: float,
        replayed: bool,
    ) -> LedgerEntry:
        max_reply = self.p.policy.max_reply_tokens
        usage = check_usage(completion.usage, estimate, self.p.counter.count(completion.text), max_reply)
        for problem in usage.problems:
            self._note(f"call {index} {label}: {problem}")
        # Costs (and so --max-cost) use the larger of the server's count and ours.
        cost = self.p.model.cost(usage.billed_prompt, usage.billed_completion, usage.cached)
        total = sum(e.cost_usd for e in self.chat.entries) + cost
        return LedgerEntry(
            index=index,
            kind=kind,
            label=label,
            estimate_tokens=estimate,
            prompt_tokens=usage.prompt,
            completion_tokens=usage.completion,
            cached_tokens=usage.cached,
            cost_usd=round(cost, 8),
            total_cost_usd=round(total, 8),
            finish_reason=completion.finish_reason,
            attempts=completion.attempts,
            seconds=round(seconds, 3),
            response_format=completion.response_format,
            usage_reported=usage.reported,
            replayed=replayed,
        )

    def _bounded(self, index: int, completion: Completion, max_tokens: int) -> Completion:
        """The completion with its text cut to the reply reserve (and marked cut off) if it was longer."""
        text, cut = bound_reply(completion.text, self.p.counter, max_tokens)
        if not cut:
            return completion
        self._note(
            f"call {index}: the reply ({len(completion.text):,} characters) passed the reply reserve of "
            f"{max_tokens:,} tokens; cut to it"
        )
        return replace(completion, text=text, finish_reason="length")

    def _check_caps(self, estimate: int, max_tokens: int) -> None:
        caps = self.p.settings.caps
        made = len(self.chat.entries)
        if caps.max_calls is not None and made + 1 > caps.max_calls:
            raise OverBudgetError(
                f"--max-calls {caps.max_calls} reached after {made} calls",
                "raise --max-calls and rerun with --resume to continue",
            )
        if caps.max_cost is not None:
            spent = sum(e.cost_usd for e in self.chat.entries)
            scaled = int(estimate * estimate_ratio(self.chat.entries))
            worst = self.p.model.cost(scaled, max_tokens)  # nothing cached, the longest reply
            if spent + worst > caps.max_cost:
                raise OverBudgetError(
                    f"the next call may cost up to ${worst:.4f}; with ${spent:.4f} spent that passes "
                    f"--max-cost ${caps.max_cost:.4f}",
                    "raise --max-cost and rerun with --resume to continue",
                )
