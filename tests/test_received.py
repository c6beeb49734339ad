"""Usage from the server is clamped against our own count; replies are bounded by the reply reserve."""

from __future__ import annotations

import pytest
from helpers import WordCounter

from lessongen.conversation.received import PLAUSIBLE_FACTOR, bound_reply, check_usage
from lessongen.models.seam import Usage


@pytest.mark.parametrize(
    ("reported", "expected", "problem"),
    [
        (None, (1000, 0, 50, 1000, 50, False), ""),
        (Usage(1000, 50, 256), (1000, 256, 50, 1000, 50, True), ""),
        (Usage(900, 40, 0), (900, 0, 40, 1000, 50, True), ""),  # fewer than ours: bills ours
        (Usage(1200, 60, 0), (1200, 0, 60, 1200, 60, True), ""),  # more than ours: bills theirs
        (Usage(1000, 50, 5000), (1000, 1000, 50, 1000, 50, False), "5,000 cached of 1,000"),
        (Usage(1000, 50, -7), (1000, 0, 50, 1000, 50, False), "clamped"),
        (Usage(10**12, 50, 0), (1000, 0, 50, 1000, 50, False), "1,000,000,000,000 prompt tokens"),
        (Usage(-1, 50, 0), (1000, 0, 50, 1000, 50, False), "-1 prompt tokens"),
        (Usage(1000, -5, 0), (1000, 0, 50, 1000, 50, False), "-5 reply tokens"),
        (Usage(1000, 10**9, 0), (1000, 0, 50, 1000, 50, False), "reply tokens"),
        (Usage(1000 * PLAUSIBLE_FACTOR, 50, 0), (4000, 0, 50, 4000, 50, True), ""),
    ],
)
def test_check_usage(reported: Usage | None, expected: tuple[int, ...], problem: str) -> None:
    usage = check_usage(reported, estimate=1000, counted_reply=50, max_reply=4096)
    got = (usage.prompt, usage.cached, usage.completion, usage.billed_prompt, usage.billed_completion)
    assert (*got, usage.reported) == expected
    assert problem in " ".join(usage.problems) if problem else usage.problems == ()


@pytest.mark.parametrize(
    ("text", "limit", "expected", "cut"),
    [
        ("a b c", 10, "a b c", False),
        ("one two three four", 4, "one two three four", False),
        ("one two three four five", 3, "one two three ", True),
        ("x " * 1000, 5, "x x x x x ", True),
    ],
)
def test_bound_reply(text: str, limit: int, expected: str, cut: bool) -> None:
    assert bound_reply(text, WordCounter(), limit) == (expected, cut)


def test_bound_reply_of_ten_megabytes_counts_only_a_bounded_head() -> None:
    counted: list[int] = []

    class Recording(WordCounter):
        def count(self, text: str) -> int:
            counted.append(len(text))
            return super().count(text)

    text, cut = bound_reply("word " * 2_000_000, Recording(), 100)
    assert cut and WordCounter().count(text) == 100
    assert max(counted) <= 100 * 16
