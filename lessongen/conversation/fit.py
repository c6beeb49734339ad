"""The history policy's limits: the usable window, reply sizes, and the batch budget from a fit."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from lessongen.config.groups import HistorySettings
from lessongen.errors import DoesNotFitError
from lessongen.models.catalog import ModelInfo
from lessongen.tokens.counter import REPLY_PRIMING

MAX_SCENES = 6  # the most scenes a chapter asks for; also the chapter schema's maxItems
SOURCE_TOKENS_PER_SCENE = 2_000  # a chapter asks for one scene per this much source (at least one)
CONTEXT_ALLOWANCE = 48  # the note placed before a summary, with its framing
STUB_ALLOWANCE = 64  # a stub naming a batch's files, with its framing
FRAMING_ALLOWANCE = 8  # a reply message's framing
HEALTHY_SHARE = 0.35  # batches smaller than this share of the usable window make a poor, costly lesson
MIN_BATCH_TOKENS = 256
_SUMMARY_SHARE = 12  # a summary is assumed to take at most an eighth of the usable window
_RESERVE_SHARE = 8  # the reply reserve takes at most an eighth of the window (chapters are sized to batches)
SCENE_CEILING = 400  # the most tokens a scene can take within the chapter schema's bounds
WORDS_PER_TOKEN = 0.6  # a summary of N tokens is asked for in about 0.6 N words (measured: 600 words, 1,000)


class CallKind(StrEnum):
    """What a model call is for."""

    BATCH = "batch"
    SUMMARY = "summary"
    INTRO = "intro"
    REPAIR = "repair"  # a second try at an unusable chapter reply (never planned)


@dataclass(frozen=True)
class Prices:
    """USD per 1M tokens, for deciding when a summary pays for itself."""

    input: float = 0.0
    cached: float = 0.0
    output: float = 0.0


@dataclass(frozen=True)
class Policy:
    """The token limits every call is held to."""

    input_limit: int  # most prompt tokens a call may carry (window minus reply reserve, max input)
    max_reply_tokens: int  # reserved in the window and sent as the call's max tokens
    keep_recent: int
    summary_at: int  # fold old turns when prompt + projected reply would pass this
    refuse_at: int  # never send a prompt above this (a summary may use all of input_limit)
    batch_reply: int  # a chapter of MAX_SCENES scenes; smaller batches ask for fewer scenes
    summary_reply: int
    intro_reply: int
    max_batch_tokens: int
    prices: Prices = Prices()

    def projected_reply(self, kind: CallKind, scenes: int = MAX_SCENES) -> int:
        """The reply size assumed for a call of this kind."""
        if kind is CallKind.BATCH:
            return self.chapter_reply(scenes)
        return self.summary_reply if kind is CallKind.SUMMARY else self.intro_reply

    def scenes_for(self, source_tokens: int) -> int:
        """Scenes a batch of this size asks for, so that output follows input (and fits the reserve)."""
        return max(1, min(self.scene_cap, math.ceil(source_tokens / SOURCE_TOKENS_PER_SCENE)))

    @property
    def scene_cap(self) -> int:
        """The most scenes a reply can hold within the reserve, even at the schema's longest."""
        return max(1, min(MAX_SCENES, self.max_reply_tokens // SCENE_CEILING))

    def chapter_reply(self, scenes: int, per_scene: float | None = None) -> int:
        """A chapter's reply tokens for this many scenes (at the assumed or a learned size per scene)."""
        per = self.batch_reply / MAX_SCENES if per_scene is None else per_scene
        return min(self.max_reply_tokens, math.ceil(per * scenes))

    def _fit(self, fixed_tokens: int, between: int) -> int:
        """The largest batch for which the system prompt, a summary, `between - 1` answered batches (or
        the kept batches) and the new batch with its reply fit under summary_at."""
        base = self.summary_at - fixed_tokens - self.summary_reply - CONTEXT_ALLOWANCE - REPLY_PRIMING
        kept = self.keep_recent
        best = 0
        for scenes in range(1, self.scene_cap + 1):
            reply = self.chapter_reply(scenes) + FRAMING_ALLOWANCE
            room = base - reply * (kept + 1) - (0 if kept else (between - 1) * (STUB_ALLOWANCE + reply))
            # A batch asks for `scenes` scenes up to scenes * SOURCE_TOKENS_PER_SCENE; the last count has no cap.
            cap = scenes * SOURCE_TOKENS_PER_SCENE if scenes < self.scene_cap else self.max_batch_tokens
            budget = min(room // (kept + 1), cap, self.max_batch_tokens)
            best = max(best, budget)
        return best

    def batch_budget(self, fixed_tokens: int) -> int:
        """Source tokens per batch, from a fit: two batches between summaries while batches stay healthy.

        Room for a second batch after each summary keeps summaries at most every other batch; it is
        given up when it would shrink batches below HEALTHY_SHARE of the usable window.
        """
        healthy = HEALTHY_SHARE * min(self.input_limit, self.max_batch_tokens)
        two = self._fit(fixed_tokens, 2)
        return two if two >= healthy else max(two, self._fit(fixed_tokens, 1))

    def largest_batch(self, fixed_tokens: int) -> int:
        """The largest batch that still fits with the system prompt, a summary and its reply."""
        return self._fit(fixed_tokens, 1)

    def max_batch_for(self, excess: int) -> int:
        """A max_batch_tokens that takes `excess` tokens off the largest batch."""
        return max(MIN_BATCH_TOKENS, self.max_batch_tokens - excess)


def make_policy(model: ModelInfo, history: HistorySettings) -> Policy:
    """Turn the model's window and the history settings into token limits."""
    reserve = min(
        history.max_reply_tokens, model.max_output_tokens, max(model.context_window // _RESERVE_SHARE, 16)
    )
    limit = min(model.input_limit, model.context_window - reserve)
    return Policy(
        input_limit=limit,
        max_reply_tokens=reserve,
        keep_recent=history.keep_recent,
        summary_at=int(limit * history.summary_threshold),
        refuse_at=int(limit * history.preflight_limit),
        batch_reply=history.reply_tokens,  # chapter_reply caps each chapter at the reserve
        summary_reply=min(history.summary_reply_tokens, reserve, limit // _SUMMARY_SHARE),
        intro_reply=min(history.intro_reply_tokens, reserve),
        max_batch_tokens=history.max_batch_tokens,
        prices=Prices(model.input_price, model.cached_input_price, model.output_price),
    )


def check_budget(policy: Policy, budget: int, fixed_tokens: int) -> None:
    """Refuse a window too small to hold the system prompt, a summary and one batch."""
    if budget < MIN_BATCH_TOKENS:
        raise DoesNotFitError(
            f"the usable window of {policy.input_limit:,} tokens cannot hold the system prompt "
            f"({fixed_tokens:,}), a summary ({policy.summary_reply:,}) and a batch of at least "
            f"{MIN_BATCH_TOKENS} source tokens with its reply",
            "use a model with a window of at least 2,048 tokens, or shorten the system prompt (--prompts-dir)",
        )
