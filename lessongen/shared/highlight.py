"""Syntax highlighting and language names from Pygments: the one module that imports it."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from functools import lru_cache

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, find_lexer_class_for_filename

CSS_CLASS = "code"  # the class the token styles are scoped to
# Lexing whole files is slow (about 200 kB/s of Python), so only the lines shown are lexed, starting
# at most this many lines earlier at a line in column 0 (a top-level statement in most languages),
# where the lexer's state is usually fresh. A construct opened further up, such as a long string, may
# then be coloured as code: a cosmetic cost.
LEAD_IN_LINES = 20
LEAD_OUT_LINES = 10  # and lexing goes on past the window, so a string it cuts in two still closes
MAX_HIGHLIGHT_CHARS = 400_000  # a window larger than this (very long lines) is shown plain


@lru_cache(maxsize=512)
def _lexer_class(name: str) -> type[Lexer] | None:
    # Pygments matches file-name patterns (and plugin lexers) on every call; names repeat a lot.
    return find_lexer_class_for_filename(name)


@lru_cache(maxsize=1)
def _formatter() -> HtmlFormatter[str]:
    return HtmlFormatter(nowrap=True)  # building one computes the whole style's tables


def language_for(path: str) -> str:
    """The language name of a file, as a Markdown fence names it ('' when unknown)."""
    found = _lexer_class(posixpath.basename(path))
    return found.aliases[0] if found is not None and found.aliases else ""


def _lead_in(lines: Sequence[str], first: int) -> int:
    """Where lexing starts for a window from `first`: the nearest line before it in column 0, not far."""
    for number in range(first, max(1, first - LEAD_IN_LINES) - 1, -1):
        head = lines[number - 1][:1]
        if head and not head.isspace():
            return number
    return max(1, first - LEAD_IN_LINES)


def highlight_window(path: str, lines: Sequence[str], first: int, last: int) -> tuple[str, ...]:
    """Lines first..last (1-based) of a file as HTML, escaped and marked up with token classes."""
    start = _lead_in(lines, first)
    # Pygments also treats a lone carriage return as a line end, which would shift every later line.
    chunk = [line.replace("\r", "") for line in lines[start - 1 : last + LEAD_OUT_LINES]]
    source = "\n".join(chunk) + "\n"
    found = _lexer_class(posixpath.basename(path)) if len(source) <= MAX_HIGHLIGHT_CHARS else None
    lexer = (found or TextLexer)(stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    html = highlight(source, lexer, _formatter())
    # The formatter closes and reopens token spans at every line end, so each line stands alone.
    out = html.split("\n")[: len(chunk)]
    out += [""] * (len(chunk) - len(out))
    return tuple(out[first - start : last - start + 1])


def token_css() -> str:
    """The stylesheet of the token classes, scoped to CSS_CLASS."""
    return str(HtmlFormatter(style="default").get_style_defs(f".{CSS_CLASS}"))  # type: ignore[no-untyped-call]
