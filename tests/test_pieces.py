"""Safe cuts: a text's tokens are exactly the sum of its safe pieces' tokens, in both shipped encodings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from lessongen.tokens.counter import TokenCounter
from lessongen.tokens.pieces import safe_pieces

COUNTERS = [TokenCounter.for_model(m) for m in ("gpt-4o-mini", "gpt-4")]  # o200k_base, cl100k_base

# The characters tiktoken's split patterns treat specially around a newline, and a few of each class.
_TRICKY = st.sampled_from(
    [
        "\n",
        "\n\n",
        " ",
        "  ",
        "\t",
        "\r",
        "/",
        "//",
        "#",
        ")",
        ":",
        "'s",
        "x",
        "Ab",
        "42",
        "é",
        "\u00a0",
        "\f",
    ]
)


def _additive(text: str) -> None:
    pieces = safe_pieces(text, size=1)  # cut at every safe cut past the first character of a piece
    assert "".join(pieces) == text
    for counter in COUNTERS:
        assert sum(counter.count(p) for p in pieces) == counter.count(text), (counter.encoding_name, text)


@settings(max_examples=200, deadline=None)
@given(st.lists(_TRICKY, min_size=1, max_size=40).map("".join))
def test_safe_cuts_never_change_a_count(text: str) -> None:
    _additive(text)


def test_indented_lines_are_cut_too() -> None:
    body = "    def f(self):\n        return 1\n\n    def g(self):\n        return 2\n" * 400
    text = "class A:\n" + body  # no unindented line after the first: every cut is before an indent
    pieces = safe_pieces(text, size=512)
    assert len(pieces) > 10 and all(len(p) < 600 for p in pieces[:-1]) and len(pieces[-1]) < 1100
    _additive(text)
    # A newline before a blank line of spaces, before a slash, or before other white space is never cut.
    assert safe_pieces("a\n   \nb", size=1) == ["a\n   \n", "b"]
    assert safe_pieces("a\n/b\n  \u00a0c", size=1) == ["a\n/b\n  \u00a0c"]
