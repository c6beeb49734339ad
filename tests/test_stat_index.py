"""The warm plan: files unchanged since they were read are known from the stat index, not read again.

Whether a file is read is seen through Python's audit hook on "open" (os.open raises it), in this very
process, where the walk reads; no code of ours is replaced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from helpers import make_repo, no_git, write

from lessongen.config.settings import Settings, resolve_settings
from lessongen.conversation.dry_run import Plan
from lessongen.pipeline import Caches, build_plan, prepare
from lessongen.repo.reading import Reading
from lessongen.repo.stat_index import RACY_NS, StatIndex
from lessongen.shared.cache import Cache, cache_file
from lessongen.shared.data import SkippedPath, SourceFile

_recording: list[list[str]] = []  # the open() paths seen while a test records
_hooked = False


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if event == "open" and _recording and isinstance(args[0], str | bytes | os.PathLike):
        _recording[-1].append(os.path.realpath(os.fsdecode(args[0])))


@contextlib.contextmanager
def opened() -> Iterator[list[str]]:
    """The resolved paths this process opens inside the block."""
    global _hooked
    if not _hooked:  # an audit hook cannot be removed: one for the whole session, idle between uses
        sys.addaudithook(_hook)
        _hooked = True
    _recording.append([])
    try:
        yield _recording[-1]
    finally:
        _recording.pop()


def _secret() -> str:
    return "AK" + "IA" + "QX7W2M4K9R3T6Y8P"  # an AWS key id's shape, built at run time


def _repo(root: Path) -> Path:
    make_repo(root, modules=4)
    write(
        root,
        {
            "pkg/settings.py": f'AWS_ACCESS_KEY_ID = "{_secret()}"\nREGION = "eu-west-1"\n',
            "pkg/big.py": "".join(f"def f{i}(x):\n    return x * {i} + {i * 7}\n" for i in range(600)),
            "pkg/no_newline.py": "VALUE = 1",
            "pkg/empty.py": "",
            "data/blob.bin": b"\x00\x01binary",
        },
    )
    return root


def _settings(repo: Path, **more: Any) -> Settings:
    # The session's cache folder, where the secret scanner's rules are compiled once: the index is
    # keyed by absolute path, and each test's repository has its own.
    values = {"local": False, "cache_dir": os.environ["LESSONGEN_CACHE_DIR"], "max_batch_tokens": 1500}
    return resolve_settings(repo, {**values, **more}, {})


def _newest_change(repo: Path) -> int:
    return max(max(p.stat().st_mtime_ns, p.stat().st_ctime_ns) for p in repo.rglob("*"))


def _plan(
    settings: Settings, stamp: Callable[[], int] | None = None, reading: Reading = Reading.CHANGED_FILES
) -> Plan:
    """A plan whose stat index stamps its entries at `stamp()`; by default well after every file's
    last change, as a plan a few seconds after the last edit would (no entry is racy)."""
    caches = Caches.open(settings.paths.cache_dir, "o200k_base")
    clock = stamp or (lambda: time.time_ns() + 10 * RACY_NS)
    caches = replace(caches, files=StatIndex(cache_file(settings.paths.cache_dir), clock=clock))
    return build_plan(prepare(settings, git_probe=no_git, caches=caches, reading=reading))


def _cold(settings: Settings) -> Plan:
    """The plan that reads every file, to compare with."""
    return _plan(settings, reading=Reading.EVERY_FILE)


def figures(plan: Plan) -> Any:
    """Everything the plan tells a user, and what it would send, without the texts."""
    batches = [
        [(p.label, p.tokens, p.digest, p.start_line, p.end_line) for p in b.parts] for b in plan.batches
    ]
    files = [(f.path, f.digest, f.size, f.note, f.line_count) for f in plan.scan.files]
    return (plan.totals, batches, plan.calls, plan.secrets, plan.scan.skipped, files, plan.verdict)


def _sources(repo: Path) -> set[str]:
    return {os.path.realpath(p) for p in repo.rglob("*") if p.is_file()}


def test_a_warm_plan_reads_no_unchanged_file_and_plans_the_same(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo)
    with opened() as cold_reads:
        cold = _plan(settings)
    assert figures(cold) == figures(_cold(settings))
    assert _sources(repo) - {os.path.realpath(repo / "data/blob.bin")} <= set(cold_reads)
    with opened() as warm_reads:
        warm = _plan(settings)
    assert figures(warm) == figures(cold)
    assert [f.kind for f in warm.secrets] == ["aws-access-key"]
    # Read again: only the file whose tag is counted with its text (it lacks a final newline). Not the
    # one split in parts (cut as remembered), nor the secret's file, nor the binary.
    read_again = {Path(p).relative_to(repo.resolve()).as_posix() for p in set(warm_reads) & _sources(repo)}
    assert read_again == {"pkg/no_newline.py"}
    assert any(p.path == "pkg/big.py" and p.parts > 1 and p.unread for b in warm.batches for p in b.parts)
    unread = [f.path for f in warm.scan.files if f.unread is not None]
    assert "pkg/settings.py" in unread and "pkg/mod0.py" in unread


def test_a_changed_file_is_read_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    _plan(settings)
    target = repo / "pkg" / "mod1.py"
    text = target.read_text()
    before = target.stat()
    target.write_text(text.replace("Module 1.", "Module 9."))  # the same size
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    with opened() as reads:
        warm = _plan(settings)
    assert os.path.realpath(target) in reads
    assert figures(warm) == figures(_cold(settings))


def test_a_file_changed_with_its_old_mtime_is_read_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    _plan(settings)
    target = repo / "pkg" / "mod2.py"
    before = target.stat()
    target.write_text(target.read_text().replace("Module 2.", "Module 7."))
    os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as they were
    assert (target.stat().st_size, target.stat().st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    with opened() as reads:
        warm = _plan(settings)
    assert os.path.realpath(target) in reads
    assert "Module 7." in next(p.text for p in warm.parts if p.path == "pkg/mod2.py")


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    _plan(settings)
    target = repo / "pkg" / "mod3.py"
    before = target.stat()
    swap = tmp_path / "swap.py"
    swap.write_text(target.read_text().replace("Module 3.", "Module 5."))
    os.utime(swap, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(swap, target)  # a new inode with the old size and mtime
    assert target.stat().st_ino != before.st_ino
    with opened() as reads:
        warm = _plan(settings)
    assert os.path.realpath(target) in reads
    assert figures(warm) == figures(_cold(settings))


def test_files_planned_right_after_a_change_are_read_again_racy_as_git_says(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    changed = _newest_change(repo)
    cold = _plan(settings, stamp=lambda: changed + RACY_NS // 2)  # the files changed just before
    with opened() as reads:
        warm = _plan(settings)
    assert _sources(repo) - {os.path.realpath(repo / "data/blob.bin")} <= set(reads)
    assert figures(warm) == figures(cold)


def test_an_entry_is_trusted_only_once_the_file_is_older_than_the_racy_window(tmp_path: Path) -> None:
    path = write(tmp_path, {"a.py": "A = 1\n"}) / "a.py"
    info = path.stat()
    changed = max(info.st_mtime_ns, info.st_ctime_ns)
    read = SourceFile("a.py", "A = 1\n", "d" * 32, 6)
    for stamp, trusted in ((changed + RACY_NS - 1, False), (changed + RACY_NS + 1, True)):
        index = StatIndex(tmp_path / "cache.sqlite", clock=lambda stamp=stamp: stamp)
        index.open(tmp_path)
        index.remember("a.py", info, read)
        index.flush()
        index.open(tmp_path)
        known = index.known("a.py", info)
        assert (known is not None) is trusted
    assert isinstance(known, SourceFile) and known.text == "" and known.unread is not None
    assert (known.digest, known.size, known.line_count) == ("d" * 32, 6, 1)


def test_the_stat_index_keeps_content_verdicts_but_not_passing_ones(tmp_path: Path) -> None:
    write(tmp_path, {"a.bin": b"\x00", "b.py": "B\n"})
    index = StatIndex(tmp_path / "cache.sqlite", clock=lambda: time.time_ns() + 10 * RACY_NS)
    index.open(tmp_path)
    index.remember("a.bin", (tmp_path / "a.bin").stat(), SkippedPath("a.bin", "binary", "NUL bytes"))
    index.remember("b.py", (tmp_path / "b.py").stat(), SkippedPath("b.py", "unreadable", "denied"))
    index.flush()
    index.open(tmp_path)
    assert index.known("a.bin", (tmp_path / "a.bin").stat()) == SkippedPath("a.bin", "binary", "NUL bytes")
    assert index.known("b.py", (tmp_path / "b.py").stat()) is None


def test_a_damaged_entry_means_reading_the_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    cold = _plan(settings)
    store = Cache(cache_file(settings.paths.cache_dir), "stat-index:1", 100)
    damaged = {
        key: {"sig": entry.value["sig"], "at": entry.value["at"], "file": [1, 2]}
        for key, entry in store.load().items()
    }
    store.put_many(damaged)
    with opened() as reads:
        warm = _plan(settings)
    assert os.path.realpath(repo / "pkg" / "mod0.py") in reads
    assert figures(warm) == figures(cold)


def test_a_live_run_reads_every_file(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    _plan(settings)
    with opened() as reads:
        prepared = prepare(settings, git_probe=no_git, reading=Reading.EVERY_FILE)
    assert _sources(repo) - {os.path.realpath(repo / "data/blob.bin")} <= set(reads)
    assert all(f.unread is None and f.text for f in prepared.scan.files)
    assert all(not p.unread for p in prepared.parts)


def test_a_moved_repository_is_read_again(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    settings = _settings(repo, secrets="off")  # no scanner to load: fast
    cold = _plan(settings)
    moved = tmp_path / "moved"
    shutil.copytree(repo, moved)
    with opened() as reads:
        warm = _plan(_settings(moved, secrets="off"))
    assert os.path.realpath(moved / "pkg" / "mod0.py") in reads
    assert figures(warm)[:5] == figures(cold)[:5]


def test_a_file_split_in_parts_is_read_when_the_budget_changes(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    _plan(_settings(repo, secrets="off"))
    smaller = _settings(repo, secrets="off", max_batch_tokens=1000)
    with opened() as reads:
        warm = _plan(smaller)
    assert os.path.realpath(repo / "pkg" / "big.py") in reads  # no cut remembered for this budget
    assert figures(warm) == figures(_cold(smaller))
