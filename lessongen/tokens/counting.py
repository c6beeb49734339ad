"""Counting the repository's files, and splitting a file too large for one batch into line ranges."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import re
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from types import TracebackType

from lessongen.shared.data import FilePart, SourceFile, text_digest
from lessongen.tokens.cache import TokenCache
from lessongen.tokens.counter import ChatFraming, Counter, count_texts


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
        keys = [text_digest(t) for t in texts]
        missing = [i for i, k in enumerate(keys) if self.cache.get(k) is None]
        if missing:
            counts = self.counter.count_many([texts[i] for i in missing])
            self.cache.put_many({keys[i]: n for i, n in zip(missing, counts, strict=True)})
        return [self.cache.get(k) or 0 for k in keys]


PIECE_CHARS = 32768


def safe_pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """Consecutive pieces of about `size` characters, cut after a newline whose next character is neither
    whitespace nor a slash. tiktoken's split patterns never join across such a cut, so a text's tokens
    are exactly the sum of its pieces' tokens."""
    if len(text) <= size * 2:
        return [text]
    pieces: list[str] = []
    start = 0
    while len(text) - start > size * 2:
        found = _SAFE_CUT.search(text, start + size)
        if found is None:
            break
        pieces.append(text[start : found.start() + 1])
        start = found.start() + 1
    pieces.append(text[start:])
    return pieces


_SAFE_CUT = re.compile(r"\n(?=[^\s/])")


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
            cache.put_many({text_digest(p): n for p, n in zip(pieces, counted, strict=True)})
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


def _cut_line(line: str, budget: int, count: Callable[[str], int], density: float) -> list[str]:
    """A single line longer than a batch, cut at character positions (rare: minified or data lines)."""
    pieces: list[str] = []
    rest = line
    width = max(int(budget * 0.9 / max(density, 1e-3)), 64)
    while rest:
        chunk = rest[:width]
        while count(chunk) > budget and len(chunk) > 16:
            chunk = chunk[: len(chunk) * 3 // 4]
        pieces.append(chunk)
        rest = rest[len(chunk) :]
    return pieces


def _ranges(lines: Sequence[str], budget: int, density: float) -> list[tuple[int, int]]:
    """Line ranges (0-based, end exclusive) whose estimated tokens stay under 90% of the budget."""
    ranges: list[tuple[int, int]] = []
    start, chars, limit = 0, 0, budget * 0.9 / max(density, 1e-6)
    for index, line in enumerate(lines):
        if chars and chars + len(line) > limit:
            ranges.append((start, index))
            start, chars = index, 0
        chars += len(line)
    ranges.append((start, len(lines)))
    return ranges


def _split_text(
    text: str, tokens: int, first_line: int, budget: int, counter: Counter
) -> list[tuple[str, int, int, int]]:
    """Line ranges of one text, each counted once; the rare range that overshoots is halved."""
    lines = text.splitlines(keepends=True)
    density = tokens / max(len(text), 1)
    pending = _ranges(lines, budget, density)
    pieces: list[tuple[str, int, int, int]] = []  # text, tokens, first line, last line (1-based)
    while pending:
        first, end = pending.pop(0)
        text = "".join(lines[first:end])
        tokens = counter.count(text)
        if tokens <= budget:
            pieces.append((text, tokens, first + 1, end))
        elif end - first > 1:
            middle = (first + end) // 2
            pending[:0] = [(first, middle), (middle, end)]
        else:
            pieces += [
                (p, counter.count(p), first + 1, end) for p in _cut_line(text, budget, counter.count, density)
            ]
    return [(t, n, a + first_line - 1, b + first_line - 1) for t, n, a, b in pieces]


def split_part(part: FilePart, budget: int, counter: Counter) -> tuple[FilePart, ...]:
    """Cut a file into consecutive line ranges of at most `budget` tokens each; nothing is dropped.

    With a line-additive counter the file's safe pieces (counted when the file was) are grouped
    without counting again; a piece larger than the budget, or a file from another counter, is cut
    at line ranges estimated from its tokens per character and counted once.
    """
    if part.tokens <= budget:
        return (part,)
    units = safe_pieces(part.text) if counter.line_additive else [part.text]
    counts = counter.count_many(units) if len(units) > 1 else [part.tokens]
    pieces: list[tuple[str, int, int, int]] = []
    group: list[str] = []
    group_tokens, line = 0, 1
    group_start = 1
    for unit, tokens in zip(units, counts, strict=True):
        lines_in_unit = unit.count("\n") + (0 if unit.endswith("\n") else 1)
        if group and group_tokens + tokens > budget:
            pieces.append(("".join(group), group_tokens, group_start, line - 1))
            group, group_tokens = [], 0
        if tokens > budget:
            pieces += _split_text(unit, tokens, line, budget, counter)
        else:
            if not group:
                group_start = line
            group.append(unit)
            group_tokens += tokens
        line += lines_in_unit
    if group:
        pieces.append(("".join(group), group_tokens, group_start, line - 1))
    total = len(pieces)
    return tuple(
        FilePart(
            part.path,
            text,
            tokens,
            text_digest(f"{part.digest}:{first}:{last}:{text}"),
            part=i + 1,
            parts=total,
            start_line=first,
            end_line=last,
        )
        for i, (text, tokens, first, last) in enumerate(pieces)
    )
