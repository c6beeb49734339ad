"""Token counts remembered by content digest, so planning an unchanged repository again is fast.

Kept in the shared cache (lessongen.shared.cache): a broken cache degrades to counting everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lessongen.shared.cache import Cache

MAX_COUNTS = 200_000  # per encoding: about 20 MB, the files of many large repositories
Piece = tuple[int, int, int, str, bool]  # a part's tokens, first and last line, digest, tag joins text


class TokenCache:
    """digest -> count in one namespace (an encoding, or a scanner version), read once, written by flush."""

    def __init__(self, path: Path | None, namespace: str, max_rows: int = MAX_COUNTS) -> None:
        self._store = Cache(path, namespace, max_rows, label="token")
        loaded = self._store.load()
        self._known = {k: e.value for k, e in loaded.items() if type(e.value) is int}
        self._new: dict[str, int] = {}
        self._used: set[str] = set()

    @property
    def error(self) -> str | None:
        """Why the cache is off, if it is."""
        return self._store.error

    def get(self, digest: str) -> int | None:
        """A remembered count, or None."""
        found = self._known.get(digest)
        if found is not None:
            self._used.add(digest)
        return found

    def put_many(self, counts: Mapping[str, int]) -> None:
        """Remember new counts (written by flush)."""
        self._known.update(counts)
        self._new.update(counts)

    def flush(self) -> None:
        """Write new counts and mark the ones used as recent, in one transaction."""
        self._store.put_many(self._new, self._used - self._new.keys())
        self._new.clear()
        self._used.clear()


MAX_SPLITS = 20_000  # files larger than a batch: a few per repository and budget


class SplitCache:
    """How a file's content was cut into parts for a batch budget, without the texts: a plan of an
    unchanged file larger than a batch needs neither its text nor the counting again."""

    def __init__(self, path: Path | None, namespace: str, max_rows: int = MAX_SPLITS) -> None:
        self._store = Cache(path, namespace, max_rows, label="token")
        self._new: dict[str, list[Piece]] = {}
        self._used: set[str] = set()

    def get(self, digest: str, budget: int) -> list[Piece] | None:
        """The parts (tokens, first line, last line, digest, whether the tag joins the text), or None."""
        key = f"{digest}:{budget}"
        entry = self._store.get(key)
        if entry is None or not isinstance(entry.value, list):
            return None
        try:
            pieces = [(int(n), int(a), int(b), str(d), bool(j)) for n, a, b, d, j in entry.value]
        except (TypeError, ValueError):
            return None
        self._used.add(key)
        return pieces

    def put(self, digest: str, budget: int, pieces: list[Piece]) -> None:
        """Remember how a content was cut (written by flush)."""
        self._new[f"{digest}:{budget}"] = pieces

    def flush(self) -> None:
        """Write the new cuts and mark the ones used as recent, in one transaction."""
        self._store.put_many(self._new, self._used - self._new.keys())
        self._new.clear()
        self._used.clear()
