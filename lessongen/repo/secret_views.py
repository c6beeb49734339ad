"""Other readings of a text that a secret can hide behind, with a map back to the original offsets.

A notebook's source lines and a JSON config hold values inside JSON strings, where quotes and
newlines are escaped; a secret can be split across joined string literals. Each view is the text as
it reads once undone, and maps a span of the view back to the span of the original that holds it.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# JSON-like files: their strings are read unescaped.
JSON_SUFFIXES = (".json", ".ipynb", ".jsonl", ".ndjson", ".har", ".geojson", ".webmanifest", ".tfstate")

_ESCAPE = re.compile(r"\\(?:u([0-9a-fA-F]{4})|(.))", re.DOTALL)
_SIMPLE = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "/": "/", '"': '"', "\\": "\\", "'": "'"}
# Two string literals joined by `+`, `..`, `.` or white space, where the characters either side could
# belong to one token: "ghp_ab" + "cd", 'ab' 'cd'. A message split after a space or a full stop is not.
# One pattern per quote, each starting with its quote as a literal: the regex engine then skips to
# the next quote quickly (a pattern starting with a class of both is about three times slower).
_TOKEN_SIDE = r"[A-Za-z0-9_+/=-]"
_JOINS = tuple(
    re.compile(
        rf"{q}(?<={_TOKEN_SIDE}{q})(?:[ \t]*(?:\+|\.\.?)[ \t\r\n]*|[ \t]*\\?\r?\n[ \t]*|[ \t]+){q}(?={_TOKEN_SIDE})"
    )
    for q in "\"'"
)


@dataclass(frozen=True)
class View:
    """A rewritten text and, for each stretch of it, where that stretch starts in the original."""

    text: str
    starts: tuple[int, ...]  # offsets in `text` where a stretch starts, ascending, first 0
    origins: tuple[int, ...]  # where each stretch starts in the original
    lengths: tuple[int, ...]  # how many original characters each view character of a stretch stands for

    def source(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original that holds the view's [start, end)."""
        return self._at(start), self._at(end - 1) + self._width(end - 1)

    def _index(self, at: int) -> int:
        return bisect.bisect_right(self.starts, at) - 1

    def _at(self, at: int) -> int:
        i = self._index(at)
        return self.origins[i] + (at - self.starts[i]) * self.lengths[i]

    def _width(self, at: int) -> int:
        return self.lengths[self._index(at)]


class _Builder:
    """Collects a view stretch by stretch."""

    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.starts: list[int] = []
        self.origins: list[int] = []
        self.lengths: list[int] = []
        self.size = 0

    def add(self, piece: str, origin: int, width: int = 1) -> None:
        if piece:
            self.pieces.append(piece)
            self.starts.append(self.size)
            self.origins.append(origin)
            self.lengths.append(width)
            self.size += len(piece)

    def view(self) -> View:
        return View("".join(self.pieces), tuple(self.starts), tuple(self.origins), tuple(self.lengths))


def json_unescaped(text: str) -> View | None:
    """The text with JSON string escapes undone (`\\"` -> `"`, `\\n` -> a newline), or None if it has none."""
    if "\\" not in text:
        return None
    built = _Builder()
    last = 0
    for m in _ESCAPE.finditer(text):
        built.add(text[last : m.start()], last)
        if m[1]:
            built.add(chr(int(m[1], 16)), m.start(), 6)
        else:
            built.add(_SIMPLE.get(m[2], m[0]), m.start(), 2 if m[2] in _SIMPLE else 1)
        last = m.end()
    built.add(text[last:], last)
    return built.view()


def joined_literals(text: str) -> View | None:
    """The lines holding joined string literals (`"ab" + "cd"`), each join undone, or None if there are none.

    Only those lines are in the view, one after another, so a file with many joins is not read twice.
    """
    joins = sorted((m for pattern in _JOINS for m in pattern.finditer(text)), key=lambda m: m.start())
    if not joins:
        return None
    built = _Builder()
    window_end = -1
    last = 0
    for m in joins:
        if m.start() >= window_end:  # a new window: from its line's start to the end of the join's line
            if window_end >= 0:
                built.add(text[last:window_end], last)
                built.add("\n", max(window_end - 1, 0))
            last = text.rfind("\n", 0, m.start()) + 1
        built.add(text[last : m.start()], last)
        last = m.end()
        end = text.find("\n", m.end())
        window_end = len(text) if end < 0 else end
    built.add(text[last:window_end], last)
    return built.view()
