"""Pinning anchors to content: digests of an anchor's lines and of the lines around them. Pure functions."""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import replace

from lessongen.script.scenes import Anchor, Chapter, Pin
from lessongen.shared.data import file_lines, text_digest

CONTEXT_LINES = 3  # enough to tell two copies of the same lines apart, few enough to survive nearby edits


def _normal(line: str) -> str:
    # Trailing blanks and a stray '\r' are invisible in every output: they never make code "changed".
    return line.rstrip()


def lines_digest(lines: Sequence[str]) -> str:
    """The digest of some lines, as a pin stores it."""
    return text_digest("\n".join(_normal(line) for line in lines))


def line_checksum(line: str) -> str:
    """One line's short checksum (crc32, 8 hex digits): for likeness, never for identity."""
    return f"{zlib.crc32(_normal(line).encode('utf-8', 'surrogatepass')):08x}"


def pin_for(lines: Sequence[str], start: int, end: int) -> Pin:
    """The pin of lines start..end (1-based, inclusive) of a file's lines."""
    body = lines[start - 1 : end]
    return Pin(
        lines=lines_digest(body),
        before=lines_digest(lines[max(0, start - 1 - CONTEXT_LINES) : start - 1]),
        after=lines_digest(lines[end : end + CONTEXT_LINES]),
        each_line=tuple(line_checksum(line) for line in body),
    )


def pin_chapters(chapters: Sequence[Chapter], texts: Mapping[str, str]) -> tuple[Chapter, ...]:
    """Every anchor pinned to the text of its file (anchors already checked to lie inside it)."""
    split: dict[str, list[str]] = {}

    def pinned(anchor: Anchor) -> Anchor:
        text = texts.get(anchor.path)
        if text is None:
            return anchor
        lines = split.setdefault(anchor.path, file_lines(text))
        return replace(anchor, pin=pin_for(lines, anchor.start_line, anchor.end_line))

    return tuple(
        replace(c, scenes=tuple(replace(s, anchors=tuple(map(pinned, s.anchors))) for s in c.scenes))
        for c in chapters
    )
