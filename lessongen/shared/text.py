"""Small wording helpers shared by the messages and reports of every stage."""

from __future__ import annotations

from collections.abc import Sequence


def first_few(items: Sequence[str], most: int, more: str = " and {} more") -> str:
    """The first `most` items joined by commas, then how many were left out (`more` says how)."""
    shown = ", ".join(items[:most])
    return shown + (more.format(len(items) - most) if len(items) > most else "")


def plural(count: int, noun: str, many: str = "") -> str:
    """'1 chapter', '2 chapters' (`many` for a plural that is not noun + s)."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {many or noun + 's'}"
