"""Batching: files + a token budget -> batches, in a teaching-friendly order. Pure functions."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from itertools import groupby

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
    folders = path.lower().split("/")[:-1]
    name = posixpath.basename(path)
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


def _within_folder(path: str) -> tuple[int, str]:
    name = posixpath.basename(path).lower()
    for position, prefix in enumerate(_FIRST_IN_FOLDER):
        if name.startswith(prefix):
            return position, name
    return len(_FIRST_IN_FOLDER), name


def teaching_order(parts: Sequence[FilePart]) -> list[FilePart]:
    """Sort by rank, then folder (a folder's files stay together), then README/__init__/index first."""

    def key(part: FilePart) -> tuple[int, list[str], tuple[int, str], int]:
        folder = posixpath.dirname(part.path)
        return (
            teaching_rank(part.path),
            folder.split("/") if folder else [],
            _within_folder(part.path),
            part.part,
        )

    return sorted(parts, key=key)


_LABEL_SLACK = 24  # a split part's label grows by "(part 2 of 3, lines 401-800)"


def make_batches(
    parts: Sequence[FilePart],
    budget: int,
    split: Callable[[FilePart, int], Sequence[FilePart]],
    overhead: Callable[[FilePart], int] = lambda part: 32,
) -> tuple[Batch, ...]:
    """Pack files into batches of at most `budget` tokens (each file costing `overhead(part)` for its tags
    and its name in the batch's file list).

    A folder's files go in the same batch when they fit together; a folder that fits in an empty
    batch starts one rather than being torn apart; a file larger than a batch is split by `split`.
    """
    batches: list[list[FilePart]] = []
    current: list[FilePart] = []
    used = 0

    def close() -> None:
        nonlocal current, used
        if current:
            batches.append(current)
        current, used = [], 0

    ordered = teaching_order(parts)
    for _, group_iter in groupby(ordered, key=lambda p: (teaching_rank(p.path), posixpath.dirname(p.path))):
        group = list(group_iter)
        size = sum(p.tokens + overhead(p) for p in group)
        if used + size > budget and size <= budget:
            close()
        for part in group:
            cost = overhead(part)
            pieces = split(part, budget - cost - _LABEL_SLACK) if part.tokens + cost > budget else (part,)
            for piece in pieces:
                cost = overhead(piece)
                if used + piece.tokens + cost > budget:
                    close()
                current.append(piece)
                used += piece.tokens + cost
    close()
    return tuple(Batch(index=i, parts=tuple(b)) for i, b in enumerate(batches))
