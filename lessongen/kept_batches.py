"""Batches of an update: the previous lesson's batches kept, every file in the batch that held it. Pure.

A stateless packing (make_batches) keeps most boundaries when files change, but a removal or a shrink
can still move a few; an update knows the previous batches (their paths), so it keeps them exactly.
Every file goes to the batch that held it (a split file's pieces one to each batch that held it, or
filling those in order when their numbers differ); a file new to the lesson joins the batch of the
file before it in its folder (else the one after it); a new folder joins the batch of its neighbour
before (else after) it in teaching order when it fits there, else gets batches of its own there. A
batch keeps exactly its members, so a change touches only its batch; one that no longer fits is
packed again on its own (by make_batches, so it may become two); an empty one vanishes; the batches
keep their order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby

from lessongen.batching import ANCHORING, Anchoring, folder_key, make_batches, teaching_order, whole_or_split
from lessongen.shared.data import Batch, FilePart

Split = Callable[[FilePart, int], Sequence[FilePart]]
Overhead = Callable[[FilePart], int]


def keep_batches(
    parts: Sequence[FilePart],
    previous: Sequence[Sequence[str]],
    budget: int,
    split: Split,
    overhead: Overhead = lambda part: 32,
    anchoring: Anchoring = ANCHORING,
) -> tuple[Batch, ...]:
    """The `previous` batches (their paths, in order) kept for `parts`, as the module says; none: make_batches."""
    if not any(previous):
        return make_batches(parts, budget, split, overhead, anchoring)
    pieces = [
        piece for part in teaching_order(parts) for piece in whole_or_split(part, budget, split, overhead)
    ]
    costs = [p.tokens + overhead(p) for p in pieces]
    homes = _old_homes(pieces, costs, previous, budget)
    _join_folders(pieces, homes)
    fill = [0] * len(previous)
    for cost, home in zip(costs, homes, strict=True):
        if home is not None:
            fill[home] += cost
    after: dict[int, list[tuple[FilePart, ...]]] = {}  # batches of new folders, after batch N (-1: first)
    for start, end in _new_runs(homes):
        run, cost = pieces[start:end], sum(costs[start:end])
        before = homes[start - 1] if start else None
        following = homes[end] if end < len(homes) else None
        target = next((h for h in (before, following) if h is not None and fill[h] + cost <= budget), None)
        if target is not None:
            homes[start:end] = [target] * len(run)
            fill[target] += cost
        else:
            fresh = make_batches(run, budget, split, overhead, anchoring)
            after.setdefault(-1 if before is None else before, []).extend(b.parts for b in fresh)
    held: list[list[FilePart]] = [[] for _ in previous]
    for piece, home in zip(pieces, homes, strict=True):
        if home is not None:
            held[home].append(piece)
    packed: list[tuple[FilePart, ...]] = list(after.get(-1, []))
    for index, members in enumerate(held):
        if fill[index] <= budget:
            packed += [tuple(members)] if members else []
        else:  # it outgrew its budget: only this batch is packed again
            packed += [b.parts for b in make_batches(members, budget, split, overhead, anchoring)]
        packed += after.get(index, [])
    return tuple(Batch(index=i, parts=b) for i, b in enumerate(packed))


def _old_homes(
    pieces: Sequence[FilePart], costs: Sequence[int], previous: Sequence[Sequence[str]], budget: int
) -> list[int | None]:
    """The previous batch of each piece by its path (None: new to the lesson)."""
    held: dict[str, list[int]] = {}
    for index, paths in enumerate(previous):
        for path in dict.fromkeys(paths):
            held.setdefault(path, []).append(index)
    homes: list[int | None] = [None] * len(pieces)
    fill = [0] * len(previous)
    for i, piece in enumerate(pieces):
        if piece.parts == 1 and piece.path in held:
            homes[i] = held[piece.path][0]
            fill[held[piece.path][0]] += costs[i]
    # The record names paths, not pieces: as many pieces as batches that held the file go one to
    # each; otherwise (two pieces shared a batch, or the file is cut into more or fewer) they fill
    # those batches in order as make_batches filled them, the last taking what is left.
    cursor: dict[str, int] = {}
    for i, piece in enumerate(pieces):
        batches = held.get(piece.path)
        if piece.parts == 1 or not batches:
            continue
        if piece.parts == len(batches):
            j = piece.part - 1
        else:
            j = cursor.get(piece.path, 0)
            while j < len(batches) - 1 and fill[batches[j]] + costs[i] > budget:
                j += 1
            cursor[piece.path] = j
        homes[i] = batches[j]
        fill[batches[j]] += costs[i]
    return homes


def _join_folders(pieces: Sequence[FilePart], homes: list[int | None]) -> None:
    """New files of a folder the previous lesson had join the batch of the file before them (else after)."""
    for _, group in groupby(range(len(pieces)), key=lambda i: folder_key(pieces[i].path)):
        indexes = list(group)
        known = [homes[i] for i in indexes if homes[i] is not None]
        if known:
            current = known[0]
            for i in indexes:
                homes[i] = current = homes[i] if homes[i] is not None else current


def _new_runs(homes: Sequence[int | None]) -> list[tuple[int, int]]:
    """The [start, end) ranges of consecutive pieces with no batch yet: folders new to the lesson."""
    runs: list[tuple[int, int]] = []
    for i, home in enumerate(homes):
        if home is None:
            if runs and runs[-1][1] == i:
                runs[-1] = (runs[-1][0], i + 1)
            else:
                runs.append((i, i + 1))
    return runs
