"""The shared cache: round trips, the row bound, and degrading to no cache on any failure."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from lessongen.shared.cache import Cache
from lessongen.tokens.cache import TokenCache


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        self.now += 1
        return self.now


def test_values_round_trip_per_namespace(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    Cache(path, "a", 10).put_many({"k": {"window": 8}, "n": None})
    entry = Cache(path, "a", 10).get("k")
    assert entry is not None and entry.value == {"window": 8}
    assert Cache(path, "a", 10).load()["n"].value is None
    assert Cache(path, "b", 10).get("k") is None


def test_each_namespace_keeps_only_its_most_recently_used_rows(tmp_path: Path) -> None:
    path, clock = tmp_path / "cache.sqlite", Clock()
    cache = Cache(path, "a", 3, clock)
    Cache(path, "other", 3, clock).put_many({"x": 0})
    for key in "pqrs":
        cache.put(key, 1)
    assert sorted(cache.load()) == ["q", "r", "s"]  # the oldest went
    cache.put_many({"t": 1}, touched=["q"])  # q was used this run: it stays
    assert sorted(cache.load()) == ["q", "s", "t"]
    assert list(Cache(path, "other", 3).load()) == ["x"]


def test_the_token_cache_is_bounded_and_keeps_what_it_used(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    first = TokenCache(path, "tokens:o200k_base", max_rows=2)
    first.put_many({"a": 1, "b": 2})
    first.flush()
    second = TokenCache(path, "tokens:o200k_base", max_rows=2)
    assert second.get("a") == 1
    second.put_many({"c": 3})
    second.flush()
    third = TokenCache(path, "tokens:o200k_base", max_rows=2)
    assert (third.get("a"), third.get("b"), third.get("c")) == (1, None, 3)


def test_a_fifo_in_place_of_the_file_turns_the_cache_off(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    os.mkfifo(path)
    cache = Cache(path, "a", 10, label="token")
    assert cache.get("k") is None
    assert cache.error is not None and cache.error.startswith("token cache unavailable")
    cache.put("k", 1)  # off for the rest of the run: nothing is attempted
    assert path.is_fifo()


def test_a_file_that_is_not_a_database_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"not a database" * 100)
    cache = Cache(path, "a", 10)
    assert cache.load() == {} and cache.error is None
    cache.put("k", 1)
    entry = Cache(path, "a", 10).get("k")
    assert entry is not None and entry.value == 1


def test_a_damaged_database_is_started_afresh(tmp_path: Path) -> None:
    """What a machine crash can leave behind now that writes are not flushed one by one."""
    path = tmp_path / "cache.sqlite"
    Cache(path, "a", 100_000).put_many({f"key {n}": "x" * 200 for n in range(2_000)})
    with sqlite3.connect(path) as db:
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * page_size
    data[page_size : 8 * page_size] = b"\xff" * (7 * page_size)  # pages 2-8 overwritten, the header kept
    path.write_bytes(bytes(data))
    with sqlite3.connect(path) as db, pytest.raises(sqlite3.DatabaseError, match="malformed"):
        db.execute("SELECT count(*) FROM entries").fetchone()
    cache = Cache(path, "a", 100)
    assert cache.load() == {} and cache.error is None
    cache.put("k", 1)
    assert sorted(Cache(path, "a", 100).load()) == ["k"]


def test_a_locked_file_or_a_bad_row_turns_the_cache_off(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite"
    Cache(path, "a", 10).put("k", 1)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE entries SET value = 'not json'")
    bad = Cache(path, "a", 10)
    assert bad.get("k") is None and bad.error is not None
    holder = sqlite3.connect(path)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        locked = Cache(path, "a", 10, timeout=0.1)
        locked.put("j", 2)
        assert locked.error is not None
    finally:
        holder.close()


def test_no_path_keeps_nothing() -> None:
    cache = Cache(None, "a", 10)
    cache.put("k", 1)
    assert cache.get("k") is None and cache.error is None


def test_load_prefix_reads_only_the_keys_under_a_folder(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite", "stat", 100)
    cache.put_many({"/r/a.py": 1, "/r/sub/b.py": 2, "/r0/c.py": 3, "/q/d.py": 4, "/r/\u00e9t\u00e9.py": 5})
    Cache(tmp_path / "cache.sqlite", "other", 100).put("/r/e.py", 6)
    found = {key: entry.value for key, entry in cache.load_prefix("/r/").items()}
    assert found == {"/r/a.py": 1, "/r/sub/b.py": 2, "/r/\u00e9t\u00e9.py": 5}
