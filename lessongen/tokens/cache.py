"""Token counts remembered by content hash, so planning an unchanged repository again is fast.

A broken, locked or unwritable cache never stops a run: it degrades to counting everything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path


class TokenCache:
    """(encoding, content digest) -> token count, kept in SQLite under the user cache folder."""

    def __init__(self, path: Path | None, encoding: str) -> None:
        self._path = path
        self._encoding = encoding
        self._known: dict[str, int] = {}
        self._new: dict[str, int] = {}
        self.error: str | None = None
        if path is not None:
            self._load()

    def _connect(self) -> sqlite3.Connection:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, timeout=2.0)
        db.execute(
            "CREATE TABLE IF NOT EXISTS tokens (encoding TEXT, digest TEXT, tokens INTEGER, "
            "PRIMARY KEY (encoding, digest))"
        )
        return db

    def _load(self) -> None:
        try:
            with self._connect() as db:
                rows = db.execute("SELECT digest, tokens FROM tokens WHERE encoding = ?", (self._encoding,))
                self._known = {digest: int(tokens) for digest, tokens in rows}
            db.close()
        except (sqlite3.Error, OSError) as exc:
            self.error = f"token cache unavailable ({exc}); counting everything"
            self._path = None

    def get(self, digest: str) -> int | None:
        """A remembered count, or None."""
        return self._known.get(digest)

    def put_many(self, counts: Mapping[str, int]) -> None:
        """Remember new counts (written by flush)."""
        self._known.update(counts)
        self._new.update(counts)

    def flush(self) -> None:
        """Write new counts in one transaction; failures only disable the cache."""
        if self._path is None or not self._new:
            return
        try:
            with self._connect() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO tokens VALUES (?, ?, ?)",
                    [(self._encoding, d, t) for d, t in self._new.items()],
                )
            db.close()
            self._new.clear()
        except (sqlite3.Error, OSError) as exc:
            self.error = f"token cache not saved ({exc})"
