"""Syntax highlighting and language names from Pygments: the one module that imports it."""

from __future__ import annotations

import posixpath
from functools import lru_cache

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, find_lexer_class_for_filename

CSS_CLASS = "code"  # the class the token styles are scoped to
# Lexing is linear but slow in pure Python; beyond this a file is shown plain rather than stall a render.
MAX_HIGHLIGHT_CHARS = 400_000


@lru_cache(maxsize=512)
def _lexer_class(name: str) -> type[Lexer] | None:
    # Pygments matches file-name patterns (and plugin lexers) on every call; names repeat a lot.
    return find_lexer_class_for_filename(name)


def language_for(path: str) -> str:
    """The language name of a file, as a Markdown fence names it ('' when unknown)."""
    found = _lexer_class(posixpath.basename(path))
    return found.aliases[0] if found is not None and found.aliases else ""


def split_lines(text: str) -> list[str]:
    """The lines of a file, numbered as anchors number them (only a newline ends a line)."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


def highlight_lines(path: str, text: str) -> tuple[str, ...]:
    """Each line of a file as HTML, escaped and marked up with token classes; one entry per line."""
    lines = split_lines(text)
    # Pygments also treats a lone carriage return as a line end, which would shift every later line.
    source = "\n".join(line.replace("\r", "") for line in lines) + "\n"
    found = _lexer_class(posixpath.basename(path)) if len(source) <= MAX_HIGHLIGHT_CHARS else None
    lexer = (found or TextLexer)(stripnl=False, stripall=False, ensurenl=True, tabsize=0)
    html = highlight(source, lexer, HtmlFormatter(nowrap=True))
    # The formatter closes and reopens token spans at every line end, so each line stands alone.
    out = html.split("\n")[: len(lines)]
    return tuple(out + [""] * (len(lines) - len(out)))


def token_css() -> str:
    """The stylesheet of the token classes, scoped to CSS_CLASS."""
    return str(HtmlFormatter(style="default").get_style_defs(f".{CSS_CLASS}"))  # type: ignore[no-untyped-call]
