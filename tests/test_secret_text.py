"""Our rules over one text: words found from the stems' places agree with a plain search."""

from __future__ import annotations

import random

import pytest

from lessongen.repo.secret_rules import CONTEXT, NAMED
from lessongen.repo.secret_text import TextRules

WORDS = ("PRIVATE" + " KEY", "Key=", "Secret", "Authorization", "AUTHORIZATION", "curl", "sk" + "-")


def texts() -> list[str]:
    """Texts with the words at the very start and end, amid stems in every case, sparse and crowded."""
    rnd = random.Random(7)
    pieces = [*WORDS, "key", "KEY", "monkey", "secrets", "Auth", "x" * 40, "\n", " ", "é", "😀"]
    sparse = [" ".join(rnd.choice(pieces) + "y" * rnd.randrange(80) for _ in range(400)) for _ in range(20)]
    crowded = ["key=" * 5_000 + "Key=", "PRIVATE" + " KEY" + "key" * 3_000, "Secret" + "secret" * 2_000]
    return [*sparse, *crowded, "", "key", "PRIVATE" + " KE", "Authorizatio"]


@pytest.mark.parametrize("text", texts())
def test_each_word_is_held_exactly_when_a_plain_search_finds_it(text: str) -> None:
    rules = TextRules(text, "a.txt")
    assert {w: rules.holds(w) for w in WORDS} == {w: w in text for w in WORDS}


def test_each_rule_is_tried_only_where_a_stem_it_can_start_with_is() -> None:
    text = "my_pwd = 'q' ; TOKEN=x ; monkey: 1 ; SeCrEt_x ; credentials ; Passwd ; auth"
    every = TextRules(text, "a.txt").anchors(("passw", "pwd", "secret", "token", "key", "auth", "credential"))
    assert [text[at : at + 3].lower() for at in every] == ["pwd", "tok", "key", "sec", "cre", "pas", "aut"]
    assert TextRules(text, "a.txt").anchors(("secret", "key")) == [every[2], every[3]]


def test_an_authorization_header_in_capitals_is_found() -> None:
    rnd = random.Random(3)
    value = "".join(rnd.choice("abcdefghijkLMNOPQ0123456789") for _ in range(32))
    for header in ("AUTHORIZATION", "authorization", "Authorization"):
        spans = TextRules(f"curl -H '{header}: Bearer {value}' https://api", "doc.md").spans(CONTEXT)
        assert [kind for *_, kind in spans] == ["authorization-header"]
    assert TextRules("AUTHORIZATION = 'Bearer'", "a.py").spans(NAMED) == []


@pytest.mark.parametrize("text", [t for t in texts() if t.isascii()])
def test_an_ascii_text_given_as_bytes_finds_the_same_places(text: str) -> None:
    given = TextRules(text, "a.txt", text.encode("ascii"))
    folded = TextRules(text, "a.txt")
    stems = ("passw", "pwd", "secret", "token", "key", "auth", "credential")
    assert given.anchors(stems) == folded.anchors(stems)
    assert {w: given.holds(w) for w in WORDS} == {w: w in text for w in WORDS}
