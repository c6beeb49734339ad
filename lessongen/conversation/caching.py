"""Prompt caching as providers bill it: the prefix a request shares with the last few, and the cached part."""

from __future__ import annotations

from collections.abc import Sequence

from lessongen.conversation.compose import Message

CACHE_LOOKBACK = 3  # requests a cached prefix is looked for in: older ones never share more


def cached_prefix(
    previous: Sequence[Sequence[Message]], messages: Sequence[Message], recent: int = CACHE_LOOKBACK
) -> int:
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
