"""What lessongen remembers between runs: small JSON values by (namespace, key) in one SQLite file.

Token counts, clean secret scans, the stat index of files already read, discovered windows and response
formats all live here. Every write is one transaction, so the file holds the old rows or the new ones.
Each namespace keeps at most `max_rows` rows: the ones used least recently are pruned when new ones are
written. Everything here can be worked out again, so writes are not flushed to the disk one by one (no
fsync): a crash of lessongen cannot damage the file, a crash of the machine may, and a file SQLite finds
damaged is then started afresh. Any other failure (a locked or unwritable file, a FIFO or a device in
its place, a row that is not JSON) turns the cache off for the rest of the run with a note in `error`:
the run goes on, only slower.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

CACHE_FILE = "cache.sqlite"
_DAMAGED = (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB)  # the file, not the moment, is at fault
_T = TypeVar("_T")


def cache_file(cache_dir: Path | None) -> Path | None:
    """The cache file in the cache folder; None (nothing remembered) without a folder."""
    return cache_dir / CACHE_FILE if cache_dir else None


@dataclass(frozen=True)
class Entry:
    """A remembered value and when it was last written or used (seconds since the epoch)."""

    value: Any
    used: float


class Cache:
    """One namespace of the cache file; a path of None keeps nothing."""

    def __init__(
        self,
        path: Path | None,
        namespace: str,
        max_rows: int,
        clock: Callable[[], float] = time.time,
        timeout: float = 2.0,
        label: str = "",
    ) -> None:
        self._path = path
        self.namespace = namespace
        self._max_rows = max_rows
        self._clock = clock
        self._timeout = timeout
        self._label = label or namespace  # names the cache in the note when it is off
        self.error: str | None = None

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        assert self._path is not None
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            if not stat.S_ISREG(os.stat(self._path).st_mode):
                raise OSError(f"{self._path} is not a regular file")
        with contextlib.closing(sqlite3.connect(self._path, timeout=self._timeout)) as db, db:
            db.execute("PRAGMA synchronous = OFF")  # a cache: an fsync per write buys nothing worth its time
            db.execute(
                "CREATE TABLE IF NOT EXISTS entries (namespace TEXT, key TEXT, value TEXT, used REAL, "
                "PRIMARY KEY (namespace, key))"
            )
            yield db

    def _run(self, action: Callable[[sqlite3.Connection], _T]) -> _T | None:
        if self._path is None:
            return None
        try:
            try:
                with self._db() as db:
                    return action(db)
            except sqlite3.DatabaseError as exc:
                if exc.sqlite_errorcode not in _DAMAGED:
                    raise
                self._start_afresh()
                with self._db() as db:
                    return action(db)
        except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
            self.error = f"{self._label} cache unavailable ({exc}); working without it"
            self._path = None
            return None

    def _start_afresh(self) -> None:
        """Remove a damaged file (and its journal) so the next connection creates an empty one."""
        assert self._path is not None
        for stale in (self._path, self._path.with_name(self._path.name + "-journal")):
            stale.unlink(missing_ok=True)

    def load(self) -> dict[str, Entry]:
        """Every entry of the namespace."""
        query = "SELECT key, value, used FROM entries WHERE namespace = ?"

        def read(db: sqlite3.Connection) -> dict[str, Entry]:
            rows = db.execute(query, (self.namespace,))
            return {str(k): Entry(json.loads(v), float(u)) for k, v, u in rows}

        return self._run(read) or {}

    def load_prefix(self, prefix: str) -> dict[str, Entry]:
        """The entries of the namespace whose key starts with `prefix` (found through the key's index)."""
        query = "SELECT key, value, used FROM entries WHERE namespace = ? AND key >= ? AND key < ?"

        def read(db: sqlite3.Connection) -> dict[str, Entry]:
            # U+10FFFF sorts after every character SQLite's binary collation can meet after the prefix.
            rows = db.execute(query, (self.namespace, prefix, prefix + "\U0010ffff"))
            return {str(k): Entry(json.loads(v), float(u)) for k, v, u in rows}

        return self._run(read) or {}

    def get(self, key: str) -> Entry | None:
        """One entry, or None."""
        query = "SELECT value, used FROM entries WHERE namespace = ? AND key = ?"

        def read(db: sqlite3.Connection) -> Entry | None:
            row = db.execute(query, (self.namespace, key)).fetchone()
            return None if row is None else Entry(json.loads(row[0]), float(row[1]))

        return self._run(read)

    def put_many(self, values: Mapping[str, Any], touched: Iterable[str] = ()) -> None:
        """Write values and mark `touched` keys as used now, in one transaction; then prune."""
        now = self._clock()
        rows = [(self.namespace, k, json.dumps(v), now) for k, v in values.items()]
        touches = [(now, self.namespace, k) for k in touched]
        if not rows and not touches:
            return

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)", rows)
            db.executemany("UPDATE entries SET used = ? WHERE namespace = ? AND key = ?", touches)
            # Counting the rows walks the key's index; pruning sorts them all, so it runs only when needed.
            (held,) = db.execute(
                "SELECT count(*) FROM entries WHERE namespace = ?", (self.namespace,)
            ).fetchone()
            if held > self._max_rows:
                db.execute(
                    "DELETE FROM entries WHERE namespace = ? AND rowid IN (SELECT rowid FROM entries "
                    "WHERE namespace = ? ORDER BY used DESC LIMIT -1 OFFSET ?)",
                    (self.namespace, self.namespace, self._max_rows),
                )

        self._run(write)

    def put(self, key: str, value: Any) -> None:
        """Write one value."""
        self.put_many({key: value})
