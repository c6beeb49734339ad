"""Token counts remembered by content digest, so planning an unchanged repository again is fast.

Kept in the shared cache (lessongen.shared.cache): a broken cache degrades to counting everything.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from lessongen.shared.cache import Cache

MAX_COUNTS = 200_000  # per encoding: about 20 MB, the files of many large repositories


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
