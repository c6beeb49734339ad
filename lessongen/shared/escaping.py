"""Neutralising untrusted text (model output, repository names) for every format lessongen writes.

Pure functions. `escape_controls` and `one_line` suit any format; the `markdown_*` functions, `code_span`
and `code_block` make text inert in CommonMark / GitHub Markdown: no raw HTML, links, images, headings
or lists can come out of it, and a title stays on its one line.
"""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the invisible formatting characters that can reorder or hide text
# (bidirectional overrides and isolates, zero-width characters, the byte-order mark), plus lone
# surrogates, which cannot be written as UTF-8 at all.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\ud800-\udfff]")
_LINE_BREAKS = re.compile("\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"[ \t]+")
# Characters that start inline Markdown (emphasis, code, links, images, HTML, tables, strikethrough);
# an underscore between two letters or digits never does (CommonMark), so test_area.py stays readable.
_INLINE = re.compile(r"([\\`*\[\]<>|~]|(?<![^\W_])_|_(?![^\W_]))")
# What a line may start with to become a heading, quote, list, rule, fence or setext underline.
_BLOCK_START = re.compile(r"^([#>+\-=]|\d{1,9}(?=[.)]))")


def escape_controls(text: str, keep: str = "\n\t") -> str:
    """Control and invisible formatting characters (except those in `keep`) written as visible \\x / \\u escapes."""

    def visible(match: re.Match[str]) -> str:
        char = match.group()
        if char in keep:
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"

    return _CONTROLS.sub(visible, text)


def one_line(text: str) -> str:
    """The text on one line: line breaks and tabs become single spaces, other controls escaped."""
    flat = _SPACES.sub(" ", _LINE_BREAKS.sub(" ", text).replace("\t", " "))
    return escape_controls(flat.strip(), keep="")


def markdown_inline(text: str) -> str:
    """Untrusted text for a Markdown heading or a line of prose: one line, nothing that formats."""
    return _INLINE.sub(r"\\\1", one_line(text))


def _quiet_start(match: re.Match[str]) -> str:
    marker = match.group()
    return marker + "\\" if marker[0].isdigit() else "\\" + marker  # "1\\. x" is no list, "\\# x" no heading


def markdown_block(text: str) -> str:
    """Untrusted multi-line text as plain Markdown paragraphs: its line breaks kept, nothing that formats."""
    lines = []
    for raw in _LINE_BREAKS.split(text.replace("\t", " ")):
        # Leading spaces are dropped (four make a code block), then the first character is escaped
        # where it would open a heading, quote, list, rule or setext underline.
        line = _INLINE.sub(r"\\\1", escape_controls(raw.strip(), keep=""))
        lines.append(_BLOCK_START.sub(_quiet_start, line))
    return "\n".join(lines).strip("\n")


def code_span(text: str) -> str:
    """Untrusted text as inline code on one line; backticks inside cannot close it early."""
    flat = one_line(text)
    longest = max((len(run) for run in re.findall(r"`+", flat)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if flat.startswith("`") or flat.endswith("`") or not flat else ""
    return f"{ticks}{pad}{flat}{pad}{ticks}"


def code_block(text: str, language: str = "") -> str:
    """Text as a fenced code block whose fence is longer than any run of backticks inside it."""
    body = escape_controls(text)
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{one_line(language)}\n{body}\n{fence}"
