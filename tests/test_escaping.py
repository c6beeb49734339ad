"""Model text in Markdown is inert: checked by rendering with a real CommonMark parser (markdown-it-py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from lessongen.shared.escaping import (
    code_block,
    code_span,
    escape_controls,
    markdown_block,
    markdown_inline,
    one_line,
)

QUICK = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
# Text made mostly of the characters Markdown and HTML care about, so the search reaches them.
PIECES = [
    *("\n- ", "\n+ ", "\n* ", "\n# ", "\n1. ", "\n2) ", "\n> ", "\n---", "\n===", "\n    ", "\n```", "\n~~~"),
    *("<b>", "</b>", "<a href=x>", "<!-- c -->", "![i](u)", "[l](u)", "[r]: u", "*e*", "_e_", "`c`", "~~s~~"),
    *("| a |", "|---|", "&amp;", "&#60;", "\\", "\x00", "\x1b", "\u202e", "\u2028", "\r", "\t", "a", " "),
]
# Text made mostly of what Markdown and HTML care about, so the search reaches it.
HOSTILE = st.lists(st.sampled_from(PIECES) | st.characters(), max_size=30).map("".join)
PLAIN = {"paragraph_open", "paragraph_close", "inline", "text", "softbreak"}


def kinds(markdown: str) -> list[str]:
    """Every token type markdown-it (CommonMark with GitHub tables and strikethrough) finds."""
    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])

    def walk(tokens: list[Token]) -> list[str]:
        return [k for t in tokens for k in [t.type, *walk(t.children or [])]]

    return walk(parser.parse(markdown))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a\x00b", "a\\x00b"),
        ("tab\tand\nline", "tab\tand\nline"),
        ("esc\x1b[31m", "esc\\x1b[31m"),
        ("right\u202eleft", "right\\u202eleft"),
        ("del\x7f", "del\\x7f"),
        ("plain é ü 字", "plain é ü 字"),
    ],
)
def test_escape_controls(text: str, expected: str) -> None:
    assert escape_controls(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Title\n# Injected", "Title # Injected"),
        ("  a \r\n\t b\u2028c  ", "a b c"),
        ("nul\x00", "nul\\x00"),
    ],
)
def test_one_line(text: str, expected: str) -> None:
    assert one_line(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "# Injected heading",
        "![tracker](http://x/t.png) [link](javascript:alert(1))",
        "1. a list\n- another\n> a quote\n---\n=====",
        "    indented code\n```\nfence\n```",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "*em* __strong__ ~~gone~~ `code`",
        "<http://autolink.example> <b onclick=x>",
        "Title\n===",
    ],
)
def test_markdown_block_renders_as_plain_paragraphs(text: str) -> None:
    assert set(kinds(markdown_block(text))) <= PLAIN


@QUICK
@given(HOSTILE)
def test_any_text_renders_as_plain_text(text: str) -> None:
    assert set(kinds(markdown_block(text))) <= PLAIN
    inline = markdown_inline(text)
    assert "\n" not in inline and "\r" not in inline
    heading = kinds(f"### {inline}")
    assert heading[0] == "heading_open" and set(heading[1:]) <= {"inline", "text", "heading_close"}
    assert set(kinds(f"- x {code_span(text)}")) <= {
        "bullet_list_open", "list_item_open", "paragraph_open", "inline", "text", "code_inline",
        "paragraph_close", "list_item_close", "bullet_list_close",
    }  # fmt: skip
    block = code_block(text, "python\n# x")
    assert kinds(block) == ["fence"] and "\x00" not in block and "\x1b" not in block
