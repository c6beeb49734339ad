"""The stat index: what the walk learned from each file it read, known again while the file's stat holds.

Like git's index: a file whose size, modification and change times, inode and device are what they
were when it was read need not be read again by a plan. An entry is "racy" (git's word) when the file
last changed less than RACY_NS before the entry was written: a write after the read but in the same
tick of the file system's clock would leave every stat field as it was, so such a file is read again
(and its entry rewritten, no longer racy). Kept in the shared cache under absolute paths, so it is
bounded, written atomically and turned off by any error like the rest.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lessongen.shared.cache import Cache
from lessongen.shared.data import SkippedPath, SourceFile, Unread

# Files keep coarse times: FAT two seconds, ext3 and HFS+ one, ext4 a kernel tick behind the clock.
RACY_NS = 2_000_000_000
MAX_ENTRIES = 200_000
_NAMESPACE = "stat-index:1"  # bump when what an entry holds changes
_PASSING = frozenset({"unreadable", "too large"})  # verdicts that may change without the file changing


def signature(info: os.stat_result) -> list[int]:
    """What must be unchanged for a file to be known without reading it."""
    return [info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino, info.st_dev]


class StatIndex:
    """Relative path -> (stat signature, what reading the file gave) for one repository at a time."""

    def __init__(
        self, path: Path | None, clock: Callable[[], int] = time.time_ns, max_rows: int = MAX_ENTRIES
    ) -> None:
        self._store = Cache(path, _NAMESPACE, max_rows, label="stat index")
        self._clock = clock
        self._prefix = ""
        self._known: dict[str, Any] = {}
        self._new: dict[str, dict[str, Any]] = {}
        self._used: set[str] = set()

    @property
    def error(self) -> str | None:
        """Why the index is off, if it is."""
        return self._store.error

    def open(self, root: Path) -> None:
        """Load the entries of the files under `root` (an absolute path)."""
        self._prefix = os.path.join(os.fspath(root), "")
        loaded = self._store.load_prefix(self._prefix)
        self._known = {key[len(self._prefix) :]: entry.value for key, entry in loaded.items()}

    def known(self, rel: str, info: os.stat_result) -> SourceFile | SkippedPath | None:
        """What reading the file gave, if its stat is unchanged and the entry is not racy."""
        value = self._known.get(rel)
        if not isinstance(value, dict) or value.get("sig") != signature(info):
            return None
        written = value.get("at")
        if type(written) is not int or max(info.st_mtime_ns, info.st_ctime_ns) >= written - RACY_NS:
            return None
        try:
            result = _decode(rel, value)
        except (KeyError, TypeError, ValueError):  # a row of another shape: read the file instead
            return None
        self._used.add(self._prefix + rel)
        return result

    def remember(self, rel: str, info: os.stat_result, result: SourceFile | SkippedPath) -> None:
        """Keep what reading a file gave (written by flush), unless it may change on its own."""
        if isinstance(result, SkippedPath) and result.reason in _PASSING:
            return
        self._new[self._prefix + rel] = {"sig": signature(info), **_encode(result)}

    def flush(self) -> None:
        """Write the new entries, stamped now (after every read, as git stamps its index), in one go."""
        if not self._new and not self._used:
            return
        written = self._clock()
        rows = {key: {**value, "at": written} for key, value in self._new.items()}
        self._store.put_many(rows, self._used - rows.keys())
        self._new.clear()
        self._used.clear()


def _encode(result: SourceFile | SkippedPath) -> dict[str, Any]:
    if isinstance(result, SkippedPath):
        return {"skip": [result.reason, result.detail]}
    facts = result.facts
    return {
        "file": [result.digest, result.size, result.note, facts.lines, facts.head, facts.ends_with_newline]
    }


def _decode(rel: str, value: dict[str, Any]) -> SourceFile | SkippedPath:
    if "skip" in value:
        reason, detail = value["skip"]
        return SkippedPath(rel, str(reason), str(detail))
    digest, size, note, lines, head, ends = value["file"]
    if not (isinstance(digest, str) and type(size) is int and type(lines) is int and isinstance(ends, bool)):
        raise ValueError("not a file entry")
    return SourceFile(rel, "", digest, size, str(note), Unread(lines, str(head), ends))
