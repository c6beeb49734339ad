"""Decoding a source file's bytes: UTF-8 first, else the encoding charset-normalizer finds.

The only module that imports charset_normalizer (on demand: most repositories never need it).
"""

from __future__ import annotations

from dataclasses import dataclass

# The most common legacy encoding of source files. On a short file many single-byte code pages decode
# the few non-ASCII bytes with little measurable mess, so this one wins when it is about as clean.
_WESTERN = "cp1252"
_CLOSE = 0.05  # charset-normalizer's mess ratio, 0 (clean) to 1


@dataclass(frozen=True)
class Decoded:
    """A file's text and what the plan should say about how it was decoded ("" for clean UTF-8)."""

    text: str
    note: str = ""


def decode(data: bytes) -> Decoded | None:
    """The text of a file without NUL bytes, or None when no encoding makes it text."""
    try:
        return Decoded(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    if bad * 20 <= len(text) and any(ord(c) > 127 and c != "\ufffd" for c in text):
        return Decoded(text, f"{bad} invalid UTF-8 byte(s) replaced")  # UTF-8 with a few broken bytes
    found = _detect(data)
    if found is None:
        return None
    encoding, decoded = found
    return Decoded(decoded, f"not UTF-8: decoded as {encoding}")


def _detect(data: bytes) -> tuple[str, str] | None:
    import charset_normalizer

    best = charset_normalizer.from_bytes(data).best()
    if best is None:
        return None
    western = charset_normalizer.from_bytes(data, cp_isolation=[_WESTERN]).best()
    chosen = western if western is not None and western.chaos <= best.chaos + _CLOSE else best
    return chosen.encoding, str(chosen)
