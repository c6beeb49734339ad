"""Reading one candidate file of the walk, or knowing it from the stat index without reading it."""

from __future__ import annotations

import os
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import BinaryIO

from lessongen.repo.encoding import decode
from lessongen.repo.exclusions import content_reason
from lessongen.repo.stat_index import StatIndex
from lessongen.shared.data import SkippedPath, SourceFile, content_digest
from lessongen.shared.safe_read import open_regular

_SNIFF = 8192
_PIECE = 1 << 20
Reader = Callable[[Path, str, int, int], SourceFile | SkippedPath]
Reuse = Callable[[SourceFile], bool]  # whether a plan may go on without a known file's text


class Reading(Enum):
    """Which files a walk reads from the disk."""

    EVERY_FILE = "every file"  # a live run: what is sent is what the files hold now
    CHANGED_FILES = "changed files"  # a plan: a file unchanged since it was read is known from the stat index


def _read_capped(handle: BinaryIO, cap: int) -> bytes:
    """Up to cap + 1 bytes in bounded pieces, stopping after the first piece that holds a NUL.

    A binary file is known from its first piece, so a huge file of zeros (even with a high cap) costs
    one small read; and no read asks for cap + 1 bytes at once (Python allocates the size asked for).
    """
    chunks: list[bytes] = []
    total, size = 0, _SNIFF
    while total <= cap:
        wanted = min(size, cap + 1 - total)
        chunk = handle.read(wanted)
        chunks.append(chunk)
        total += len(chunk)
        if len(chunk) < wanted or b"\0" in chunk:  # a buffered read comes back short only at the end
            break
        size = _PIECE
    return b"".join(chunks)


def read_source(path: Path, rel: str, size: int, cap: int) -> SourceFile | SkippedPath:
    """Read one candidate file as text, or say why it is left out."""
    if size > cap:
        return SkippedPath(rel, "too large", f"{size:,} bytes > max_file_bytes {cap:,}")
    try:
        with open_regular(path) as handle:  # swapped for a FIFO since the walk saw it: refused
            data = _read_capped(handle, cap)
    except OSError as exc:
        return SkippedPath(rel, "unreadable", exc.strerror or type(exc).__name__)
    if len(data) > cap:
        return SkippedPath(rel, "too large", f"more than max_file_bytes {cap:,}")
    if b"\0" in data:  # anywhere in the file, not only in the first block
        return SkippedPath(rel, "binary", "NUL bytes")
    decoded = decode(data)
    if decoded is None:
        return SkippedPath(rel, "binary", "not text in any encoding")
    text, note = decoded.text.removeprefix("\ufeff"), decoded.note
    if "\r" in text:  # looked for first: finding one character is many times faster than replace's search
        text = text.replace("\r\n", "\n")
    if not text.strip():
        return SkippedPath(rel, "empty")
    reason = content_reason(rel, text[:_SNIFF])
    if reason:
        return SkippedPath(rel, reason)
    return SourceFile(path=rel, text=text, digest=content_digest(data), size=len(data), note=note)


def read_candidate(
    read: Reader,
    path: Path,
    rel: str,
    info: os.stat_result,
    cap: int,
    index: StatIndex | None = None,
    reuse: Reuse | None = None,
) -> SourceFile | SkippedPath:
    """What the stat index knows of an unchanged file when `reuse` accepts it, else the file read now
    (and remembered in the index)."""
    if index is not None and reuse is not None and info.st_size <= cap:  # else it is too large now
        known = index.known(rel, info)
        if isinstance(known, SkippedPath) or (known is not None and reuse(known)):
            return known
    try:
        result = read(path, rel, info.st_size, cap)
    except OSError as exc:  # a reader that raises still costs one file, not the whole scan
        return SkippedPath(rel, "unreadable", exc.strerror or type(exc).__name__)
    if index is not None:
        index.remember(rel, info, result)
    return result
