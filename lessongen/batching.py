"""Batching: files + a token budget -> batches in teaching order, with boundaries that stay put. Pure."""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter

from lessongen.shared.data import Batch, FilePart

# Rank of each kind of file in the lesson, lowest first (documented in the README).
DOCS, PROJECT, SOURCE, EXAMPLES, TESTS = range(5)

_DOC_DIRS = {"doc", "docs", "documentation", "guide", "guides"}
_EXAMPLE_DIRS = {
    "example",
    "examples",
    "sample",
    "samples",
    "demo",
    "demos",
    "benchmarks",
    "bench",
    "scripts",
}
_TEST_DIRS = {"test", "tests", "testing", "__tests__", "spec", "specs", "e2e", "integration_tests"}
_TEST_FILE = re.compile(r"(^test_.*|.*_test\.\w+$|.*\.(test|spec)\.\w+$|^conftest\.py$|.*Tests?\.\w+$)")
_PROJECT_FILES = {
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "package.json",
    "cargo.toml",
    "go.mod",
    "makefile",
    "cmakelists.txt",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "gemfile",
    "composer.json",
    "tsconfig.json",
    "dockerfile",
    "meson.build",
    "mix.exs",
    "deno.json",
}
_DOC_SUFFIXES = (".md", ".rst", ".txt", ".adoc", ".org")
_FIRST_IN_FOLDER = ("readme", "__init__.py", "index.", "main.", "__main__.py", "mod.rs", "lib.rs")


def teaching_rank(path: str) -> int:
    """Docs first, then project files, source, examples, and tests last."""
    return _rank(path, path[path.rfind("/") + 1 :])


def _rank(path: str, name: str) -> int:
    folders = path.lower().split("/")[:-1]
    if any(f in _TEST_DIRS for f in folders) or _TEST_FILE.match(name):
        return TESTS
    if any(f in _EXAMPLE_DIRS for f in folders):
        return EXAMPLES
    if any(f in _DOC_DIRS for f in folders):
        return DOCS
    if not folders and (name.lower().startswith("readme") or name.lower().endswith(_DOC_SUFFIXES)):
        return DOCS
    if not folders and name.lower() in _PROJECT_FILES:
        return PROJECT
    return SOURCE


def _within_folder(name: str) -> tuple[int, str]:
    name = name.lower()
    if name.startswith(_FIRST_IN_FOLDER):  # one test for the many names that come in no set place
        for position, prefix in enumerate(_FIRST_IN_FOLDER):
            if name.startswith(prefix):
                return position, name
    return len(_FIRST_IN_FOLDER), name


_OrderKey = tuple[int, list[str], tuple[int, str], int]


def _order_key(part: FilePart) -> _OrderKey:
    """Rank, folder, place in the folder, piece: the path looked at once (as posixpath would split it)."""
    path = part.path
    cut = path.rfind("/") + 1
    folder, name = path[:cut], path[cut:]
    if folder and folder != "/" * len(folder):
        folder = folder.rstrip("/")
    return _rank(path, name), folder.split("/") if folder else [], _within_folder(name), part.part


def _ordered(parts: Sequence[FilePart]) -> list[tuple[_OrderKey, FilePart]]:
    """Each part with its sort key, in teaching order (each key worked out once)."""
    keyed = [(_order_key(p), p) for p in parts]
    keyed.sort(key=itemgetter(0))
    return keyed


def teaching_order(parts: Sequence[FilePart]) -> list[FilePart]:
    """Sort by rank, then folder (a folder's files stay together), then README/__init__/index first."""
    return [part for _, part in _ordered(parts)]


_LABEL_SLACK = 24  # a split part's label grows by "(part 2 of 3, lines 401-800)"


@dataclass(frozen=True)
class Anchoring:
    """How often a name is an anchor, where a batch always starts (see make_batches)."""

    folders: int = 24  # about one folder in this many, of those that fit in a batch (0: none)
    files: int = 64  # about one file in this many, inside a folder larger than a batch (0: none)


# Each anchor costs about half a batch of fill; the batches between two anchors bound how far a
# removal can move boundaries. Measured on the standard library (see the README).
ANCHORING = Anchoring()


@dataclass(frozen=True)
class _Item:
    """What batching places whole: a folder that fits in a batch, or one file (or piece) of a larger one."""

    pieces: tuple[FilePart, ...]
    cost: int
    anchored: bool  # a batch always starts here


def _anchor(key: str, every: int) -> bool:
    """A property of the name alone, so it stays put whatever else in the repository changes."""
    if every <= 0:
        return False
    digest = hashlib.blake2b(key.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % every == 0


def folder_anchor(path: str, anchoring: Anchoring = ANCHORING) -> bool:
    """True when the folder holding `path` starts a batch (when that folder fits in one)."""
    return _anchor(f"{teaching_rank(path)}:{posixpath.dirname(path)}/", anchoring.folders)


def file_anchor(path: str, anchoring: Anchoring = ANCHORING) -> bool:
    """True when the file `path` starts a batch (when its folder is larger than a batch)."""
    return _anchor(path, anchoring.files)


def folder_key(path: str) -> tuple[int, str]:
    """What batching keeps together: the files of one folder and one rank (see teaching_order)."""
    return teaching_rank(path), posixpath.dirname(path)


def whole_or_split(
    part: FilePart,
    budget: int,
    split: Callable[[FilePart, int], Sequence[FilePart]],
    overhead: Callable[[FilePart], int],
) -> Sequence[FilePart]:
    """The part itself when it fits in a batch, else its pieces as `split` cuts them to fit."""
    extra = overhead(part)
    return (part,) if part.tokens + extra <= budget else split(part, budget - extra - _LABEL_SLACK)


def _items(
    ordered: Sequence[tuple[_OrderKey, FilePart]],
    costs: Sequence[int],
    budget: int,
    split: Callable[[FilePart, int], Sequence[FilePart]],
    overhead: Callable[[FilePart], int],
    anchoring: Anchoring,
) -> Iterator[_Item]:
    """What batching places whole, from the parts in teaching order with their sort keys and costs."""
    keyed = zip(ordered, costs, strict=True)
    for _, group_iter in groupby(keyed, key=lambda item: item[0][0][:2]):  # one rank in one folder
        group = tuple(group_iter)
        cost = sum(c for _, c in group)
        if cost <= budget:
            first = group[0][0][1].path
            yield _Item(tuple(p for (_, p), _ in group), cost, folder_anchor(first, anchoring))
            continue
        for (_, part), _ in group:  # a folder larger than a batch goes file by file
            for piece in whole_or_split(part, budget, split, overhead):
                anchored = piece.part == 1 and file_anchor(piece.path, anchoring)
                yield _Item((piece,), piece.tokens + overhead(piece), anchored)


def make_batches(
    parts: Sequence[FilePart],
    budget: int,
    split: Callable[[FilePart, int], Sequence[FilePart]],
    overhead: Callable[[FilePart], int] = lambda part: 32,
    anchoring: Anchoring = ANCHORING,
) -> tuple[Batch, ...]:
    """Pack files in teaching order into batches of at most `budget` tokens (each file costing
    `overhead(part)` for its tags and its name in the batch's file list).

    A folder that fits in a batch is never torn apart; a folder larger than one goes file by file,
    and a file larger than a batch is split by `split`. A batch ends only where it must: before an
    anchor (a folder or file whose name hashes to one, as rsync and restic cut files by content), or
    where the next folder or file would not fit. Never at a fill level: so a file that grows within
    its batch's room changes that batch only, and no change moves a boundary past the anchors around
    it (unless it removes one).
    """
    ordered = _ordered(parts)
    costs = [p.tokens + overhead(p) for _, p in ordered]  # each part's overhead counted once
    if sum(costs) <= budget:  # it all fits: one batch, nothing to anchor
        return (Batch(index=0, parts=tuple(p for _, p in ordered)),) if ordered else ()
    batches: list[tuple[FilePart, ...]] = []
    current: list[FilePart] = []
    used = 0
    for item in _items(ordered, costs, budget, split, overhead, anchoring):
        if current and (item.anchored or used + item.cost > budget):
            batches.append(tuple(current))
            current, used = [], 0
        current.extend(item.pieces)
        used += item.cost
    if current:
        batches.append(tuple(current))
    return tuple(Batch(index=i, parts=b) for i, b in enumerate(batches))
