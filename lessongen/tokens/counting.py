"""Counting the repository's files: in worker processes as the walk reads on, remembered by content hash."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from types import TracebackType

from lessongen.shared.data import FilePart, SourceFile, text_digest
from lessongen.tokens.cache import TokenCache
from lessongen.tokens.counter import ChatFraming, Counter, count_texts
from lessongen.tokens.pieces import piece_key, safe_pieces


class CachedCounter:
    """A counter that remembers counts by content hash in the token cache (so re-planning is fast)."""

    def __init__(self, counter: Counter, cache: TokenCache) -> None:
        self.counter = counter
        self.cache = cache

    @property
    def encoding_name(self) -> str:
        return self.counter.encoding_name

    @property
    def line_additive(self) -> bool:
        return self.counter.line_additive

    @property
    def threads(self) -> int:
        return self.counter.threads

    @property
    def framing(self) -> ChatFraming:
        return self.counter.framing

    @property
    def process_safe(self) -> bool:
        return False  # the cache lives in this process

    def count(self, text: str) -> int:
        """Tokens in a text, from the cache when it was counted before."""
        key = text_digest(text)
        known = self.cache.get(key)
        if known is None:
            known = self.counter.count(text)
            self.cache.put_many({key: known})
        return known

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Tokens in many texts; only the ones not in the cache are counted (in parallel)."""
        return self._counted([text_digest(t) for t in texts], texts)

    def count_pieces(self, digest: str, pieces: Sequence[str]) -> list[int]:
        """Tokens in each safe piece (tokens/pieces.py) of the content `digest` names, remembered by
        the digest and the piece's place: counted along with the file, not hashed again."""
        return self._counted([piece_key(digest, i) for i in range(len(pieces))], pieces)

    def _counted(self, keys: Sequence[str], texts: Sequence[str]) -> list[int]:
        missing = [i for i, k in enumerate(keys) if self.cache.get(k) is None]
        if missing:
            counts = self.counter.count_many([texts[i] for i in missing])
            self.cache.put_many({keys[i]: n for i, n in zip(missing, counts, strict=True)})
        return [self.cache.get(k) or 0 for k in keys]


class BackgroundCounter:
    """Counts files on the other cores while the walk is still reading the next ones.

    Used as a context manager around the walk: `add` takes each file as it is read; `parts` waits for
    the counts and returns the files as counted parts. Counts already in the cache are not redone. No
    worker starts until there is a full chunk to count, so a small repository is counted inline.
    """

    def __init__(self, counter: Counter, cache: TokenCache, chunk_chars: int = 262_144) -> None:
        self.counter = counter
        self.cache = cache
        self._chunk_chars = chunk_chars
        self._pool: Executor | None = None
        self._in_processes = False  # the pool is worker processes (count_texts), not threads
        self._pending: list[tuple[SourceFile, list[str]]] = []
        self._pending_chars = 0
        self._jobs: list[tuple[list[tuple[SourceFile, list[str]]], Future[list[int]]]] = []

    def __enter__(self) -> BackgroundCounter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def add(self, file: SourceFile) -> None:
        """Queue a file for counting unless its count is remembered."""
        if self.cache.get(file.digest) is not None:
            return
        self._pending.append((file, _counting_pieces(file, self.counter)))
        self._pending_chars += len(file.text)
        if self._pending_chars >= self._chunk_chars:
            self._submit()

    def _submit(self) -> None:
        batch, self._pending, self._pending_chars = self._pending, [], 0
        texts = [p for _, pieces in batch for p in pieces]
        if self._pool is None:
            self._pool, self._in_processes = _pool(self.counter)
        if self._in_processes:
            job = self._pool.submit(count_texts, self.counter.encoding_name, texts)
        else:
            job = self._pool.submit(lambda: [self.counter.count(t) for t in texts])
        self._jobs.append((batch, job))

    def parts(self, files: Sequence[SourceFile]) -> tuple[FilePart, ...]:
        """Every file as a whole-file part with its token count (waits for the workers)."""
        if self._pending and self._pool is not None:
            self._submit()
        for batch, job in self._jobs:
            _remember(self.cache, batch, job.result())
        self._jobs.clear()
        self._pending, self._pending_chars = [], 0  # a small remainder is counted inline below
        return count_files(files, self.counter, self.cache)


def _pool(counter: Counter) -> tuple[Executor, bool]:
    """Worker processes (and True) for counters a worker can rebuild, when this process can fork safely
    (no other thread yet): the walk's Python work then never waits on the counting for the GIL.
    Threads (and False) otherwise."""
    workers = max(1, counter.threads)
    forkable = "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1
    if counter.process_safe and workers > 1 and forkable:
        processes = ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_worker_start,
            initargs=(os.getpid(),),
        )
        return processes, True
    return ThreadPoolExecutor(workers), False


def _worker_start(parent: int) -> None:
    """A counting worker leaves Ctrl-C to its parent and never outlives it, even after a kill -9."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(0)


_PR_SET_PDEATHSIG = 1


def _counting_pieces(file: SourceFile, counter: Counter) -> list[str]:
    """What to count for a file: its safe pieces with a line-additive counter, else the whole text."""
    return safe_pieces(file.text) if counter.line_additive else [file.text]


def _remember(
    cache: TokenCache, batch: Sequence[tuple[SourceFile, list[str]]], counts: Sequence[int]
) -> None:
    """Store each file's count (the sum of its pieces) and, for split files, each piece's count."""
    numbers = iter(counts)
    for file, pieces in batch:
        counted = [next(numbers) for _ in pieces]
        if len(pieces) > 1:
            cache.put_many({piece_key(file.digest, i): n for i, n in enumerate(counted)})
        cache.put_many({file.digest: sum(counted)})


def count_files(files: Sequence[SourceFile], counter: Counter, cache: TokenCache) -> tuple[FilePart, ...]:
    """One whole-file part per file with its token count, counting only content the cache lacks (a plan
    leaves a file unread only when the cache holds its count).

    With a line-additive counter, large files are counted as safe pieces: the work spreads evenly
    over the cores, and each piece's count is remembered so splitting the file later costs nothing.
    """
    missing = [(f, _counting_pieces(f, counter)) for f in files if cache.get(f.digest) is None]
    if missing:
        _remember(cache, missing, counter.count_many([p for _, pieces in missing for p in pieces]))
    return tuple(
        FilePart(
            path=f.path,
            text=f.text,
            tokens=cache.get(f.digest) or 0,
            digest=f.digest,
            start_line=1,
            end_line=max(f.line_count, 1),
            unread=f.unread is not None,
        )
        for f in files
    )
