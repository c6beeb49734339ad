"""Counted parts -> batches: each cut to the batch budget, a plan's unread parts split as remembered."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from lessongen.conversation.compose import Composer, tag_joins
from lessongen.errors import UsageError
from lessongen.kept_batches import keep_batches
from lessongen.repo.reading import read_source
from lessongen.shared.data import Batch, FilePart, SourceFile
from lessongen.tokens.cache import Piece, SplitCache
from lessongen.tokens.counter import Counter
from lessongen.tokens.counting import CachedCounter
from lessongen.tokens.splitting import split_part


def cut_batches(
    parts: Sequence[FilePart],
    budget: int,
    composer: Composer,
    counter: CachedCounter,
    load: Callable[[FilePart], FilePart] | None = None,
    splits: SplitCache | None = None,
    previous: Sequence[Sequence[str]] = (),
) -> tuple[Batch, ...]:
    """The parts packed into batches of at most `budget` tokens (none when nothing fits), keeping the
    `previous` lesson's batches (their paths) in an update. A plan's unread part that must be split
    is cut as `splits` remembers, or given its text by `load`."""

    def split(part: FilePart, limit: int) -> tuple[FilePart, ...]:
        known = splits.get(part.digest, limit) if splits is not None and part.unread else None
        if known is not None and not any(joins for *_, joins in known):  # no piece's text is needed
            return tuple(
                FilePart(part.path, "", n, digest, i + 1, len(known), first, last, unread=True)
                for i, (n, first, last, digest, _) in enumerate(known)
            )
        whole = load(part) if load is not None and part.unread else part
        pieces = split_part(whole, limit, counter, counter.count_pieces)
        if splits is not None:
            splits.put(whole.digest, limit, [_piece(p) for p in pieces])
        return pieces

    if budget <= 0:
        return ()
    return keep_batches(parts, previous, budget, split, composer.part_overhead)


def _piece(part: FilePart) -> Piece:
    return (
        part.tokens,
        part.start_line,
        part.end_line,
        part.digest,
        tag_joins(part.text[:1], part.text.endswith("\n")),
    )


def read_unread(root: Path, cap: int, counter: Counter, part: FilePart) -> FilePart:
    """A plan's unread part of a clean file with its text, read now; counted again if it changed since."""
    found = read_source(root / part.path, part.path, 0, cap)
    if not isinstance(found, SourceFile):
        raise UsageError(f"{part.path} changed while it was planned ({found.reason})", "plan again")
    tokens = part.tokens if found.digest == part.digest else counter.count(found.text)
    return replace(part, text=found.text, tokens=tokens, digest=found.digest, unread=False)
