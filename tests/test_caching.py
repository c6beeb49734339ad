from lessongen.conversation.caching import billable_cached, cached_prefix
from lessongen.conversation.compose import Message

SYSTEM = Message("system", "You write lessons.", 700)
FIRST = Message("user", "batch 1", 500)
ANSWER = Message("assistant", "chapter 1", 300)
STUB = Message("user", "batch 1 (answered)", 40)


def test_billable_cached_rule() -> None:
    assert [billable_cached(n) for n in (0, 1023, 1024, 1151, 1152, 5000)] == [0, 0, 1024, 1024, 1152, 4992]


def test_cached_prefix_is_the_longest_shared_run_of_whole_messages() -> None:
    grown = (SYSTEM, FIRST, ANSWER, Message("user", "batch 2", 450))
    assert cached_prefix([(SYSTEM, FIRST)], grown) == 1200  # the earlier request is a prefix
    stubbed = (SYSTEM, STUB, ANSWER, Message("user", "batch 3", 400))
    assert cached_prefix([(SYSTEM, FIRST), grown], stubbed) == 700  # a stub breaks the prefix after it
    assert cached_prefix([], grown) == 0


def test_cached_prefix_looks_only_at_the_last_few_requests() -> None:
    old = (SYSTEM, FIRST, ANSWER)
    others = [(Message("system", "other", 10),)] * 3
    assert cached_prefix([old, *others], (SYSTEM, FIRST, ANSWER), recent=3) == 0
    assert cached_prefix([old, *others], (SYSTEM, FIRST, ANSWER), recent=4) == 1500
