"""Caches and atomic writes: a broken cache or a bad folder never loses state or shows a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from lessongen.conversation.history import CallKind
from lessongen.conversation.ledger import LedgerEntry, estimate_ratio
from lessongen.errors import OutputError
from lessongen.shared.storage import read_json, write_atomic, write_json
from lessongen.tokens.cache import TokenCache


def test_token_cache_round_trip_and_namespaces(tmp_path: Path) -> None:
    path = tmp_path / "tokens.sqlite"
    cache = TokenCache(path, "o200k_base")
    cache.put_many({"d1": 10, "d2": 20})
    cache.flush()
    assert TokenCache(path, "o200k_base").get("d1") == 10
    assert TokenCache(path, "cl100k_base").get("d1") is None  # another encoding counts differently


def test_a_damaged_cache_starts_afresh_and_an_unwritable_one_disables_itself(tmp_path: Path) -> None:
    damaged = tmp_path / "tokens.sqlite"
    damaged.write_bytes(b"this is not a database" * 100)
    cache = TokenCache(damaged, "o200k_base")
    assert not cache.error and cache.get("x") is None
    cache.put_many({"x": 1})
    cache.flush()
    assert TokenCache(damaged, "o200k_base").get("x") == 1
    blocked = tmp_path / "file"
    blocked.write_text("a file where a folder should be")
    cache = TokenCache(blocked / "tokens.sqlite", "o200k_base")
    assert cache.error


def test_atomic_write_replaces_whole_files(tmp_path: Path) -> None:
    target = tmp_path / "out" / "run.json"
    write_json(target, {"a": 1})
    write_json(target, {"a": 2})
    assert read_json(target) == {"a": 2}
    assert [p.name for p in target.parent.iterdir()] == ["run.json"]  # no temporary files left


def test_unwritable_folder_is_an_output_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError) as caught:
        write_atomic(tmp_path / "file" / "script.md", "text")
    assert "--resume" in caught.value.one_line()


def test_damaged_state_is_an_output_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{ not json")
    with pytest.raises(OutputError) as caught:
        read_json(tmp_path / "state.json")
    assert "--force" in caught.value.one_line()


def _entry(estimate: int, prompt: int, reported: bool = True) -> LedgerEntry:
    return LedgerEntry(
        1, CallKind.BATCH, "batch 1", estimate, prompt, 10, 0, 0.0, 0.0, "stop", 1, 0.0, "text", reported
    )


def test_estimate_ratio_uses_recent_reported_calls_and_never_shrinks() -> None:
    assert estimate_ratio([]) == 1.0
    assert estimate_ratio([_entry(100, 90)]) == 1.0  # a server that counts less never loosens the check
    assert estimate_ratio([_entry(100, 120), _entry(100, 110)]) == 1.2
    assert estimate_ratio([_entry(100, 150, reported=False)]) == 1.0
    assert estimate_ratio([_entry(100, 150), *[_entry(100, 101)] * 3]) == 1.01  # only the last three
