"""Pygments behind shared/highlight.py: language names, line numbering, windows lexed with a lead-in."""

from __future__ import annotations

import re

import pytest

from lessongen.shared.data import file_lines
from lessongen.shared.highlight import LEAD_IN_LINES, highlight_window, language_for

TAGS = re.compile(r"<[^>]+>")


@pytest.mark.parametrize(
    ("path", "language"),
    [
        ("pkg/a.py", "python"),
        ("web/app.ts", "typescript"),
        ("src/main.rs", "rust"),
        ("Makefile", "make"),
        ("docs/README.md", "markdown"),
        ("build.sh", "bash"),
        ("data/blob.unknown-extension", ""),
    ],
)
def test_language_names_come_from_pygments(path: str, language: str) -> None:
    assert language_for(path) == language


def text_of(html: str) -> str:
    return (
        TAGS.sub("", html)
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&#39;", "'")
        .replace("&quot;", '"')
    )


def test_a_window_is_one_escaped_line_per_source_line() -> None:
    lines = file_lines('x = "<b>&"\ny = 1\r\nz = 2\rw\n\n')
    out = highlight_window("a.py", lines, 1, len(lines))
    assert [text_of(h) for h in out] == [line.replace("\r", "") for line in lines]
    assert "<b>" not in out[0] and "&lt;b&gt;" in out[0]


def test_a_string_opened_in_the_lead_in_is_coloured_as_a_string() -> None:
    lines = ["def f():", '    """A docstring', *["    more text"] * 5, '    """', "    return 1"]
    inside = highlight_window("a.py", lines, 4, 6)
    assert all('class="sd"' in h for h in inside)  # Pygments' docstring class
    far = ["x = 1", *["y = 2"] * (LEAD_IN_LINES + 5)]
    assert len(highlight_window("a.py", far, LEAD_IN_LINES + 3, LEAD_IN_LINES + 4)) == 2
