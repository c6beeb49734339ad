"""What a server sends back is checked, never trusted: usage against our own count, replies against the reserve.

Pure functions over the counts; the live run notes every problem they report.
"""

from __future__ import annotations

from dataclasses import dataclass

from lessongen.models.seam import Usage
from lessongen.tokens.counter import Counter

# A server's tokenizer may count differently from ours, but not by more than this (plus an allowance
# for its chat framing); a larger prompt count is not believed.
PLAUSIBLE_FACTOR = 4
_ALLOWANCE = 256
# No real text averages more characters per token; longer replies are cut by characters before counting.
_MAX_CHARS_PER_TOKEN = 16


@dataclass(frozen=True)
class CheckedUsage:
    """A call's token counts as the ledger keeps them, and what was wrong with the reported ones."""

    prompt: int  # the server's count when plausible, else ours
    cached: int  # within 0..prompt
    completion: int  # the server's count when plausible, else ours
    billed_prompt: int  # the larger of the server's count and ours: what costs and caps use
    billed_completion: int
    reported: bool  # usable usage came from the server (what the estimate ratio learns from)
    problems: tuple[str, ...] = ()


def check_usage(reported: Usage | None, estimate: int, counted_reply: int, max_reply: int) -> CheckedUsage:
    """Reported usage clamped and checked against our prompt estimate and our count of the reply."""
    if reported is None:
        return CheckedUsage(estimate, 0, counted_reply, estimate, counted_reply, reported=False)
    problems = []
    prompt, plausible = reported.prompt_tokens, estimate * PLAUSIBLE_FACTOR + _ALLOWANCE
    if not 0 <= prompt <= plausible:
        problems.append(
            f"the server reported {prompt:,} prompt tokens against our {estimate:,}; ours are used"
        )
        prompt = estimate
    completion, most = reported.completion_tokens, max(max_reply, counted_reply) + _ALLOWANCE
    if not 0 <= completion <= most:
        problems.append(
            f"the server reported {completion:,} reply tokens against our {counted_reply:,}; ours are used"
        )
        completion = counted_reply
    cached = reported.cached_tokens
    if not 0 <= cached <= prompt:
        problems.append(f"the server reported {cached:,} cached of {prompt:,} prompt tokens; clamped")
        cached = min(max(cached, 0), prompt)
    return CheckedUsage(
        prompt,
        cached,
        completion,
        max(prompt, estimate),
        max(completion, counted_reply),
        reported=not problems,
        problems=tuple(problems),
    )


def bound_reply(text: str, counter: Counter, max_tokens: int) -> tuple[str, bool]:
    """The reply cut to at most `max_tokens` of our tokens, and whether it had to be cut.

    A server that ignores max_tokens must not put more than the reply reserve into the history.
    """
    if len(text) <= max_tokens:  # a token is at least one character
        return text, False
    head = text[: max_tokens * _MAX_CHARS_PER_TOKEN]
    if len(head) == len(text) and counter.count(head) <= max_tokens:
        return text, False
    low, high = 0, len(head)  # the longest prefix of at most max_tokens tokens
    while low < high:
        middle = (low + high + 1) // 2
        if counter.count(head[:middle]) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    return head[:low], True
