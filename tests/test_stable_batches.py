"""Stable batches: a change to one file moves boundaries only near it (property tests over random trees)."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import no_git
from hypothesis import given, settings
from hypothesis import strategies as st

from lessongen.batching import Anchoring, file_anchor, folder_anchor, make_batches, teaching_order
from lessongen.config.settings import resolve_settings
from lessongen.conversation.prepared import Prepared
from lessongen.pipeline import prepare
from lessongen.shared.data import Batch, FilePart

BUDGET = 400
OVERHEAD = 10
ANCHORS = Anchoring(folders=3, files=4)  # dense, so that random trees hold anchors
FOLDERS = ["", "docs", "src", "src/pkg", "src/pkg/sub", "lib", "examples", "tests", "tools", "web/ui"]


def split(part: FilePart, budget: int) -> tuple[FilePart, ...]:
    """Equal line ranges of at most `budget` tokens (the real split cuts at safe lines)."""
    count = -(-part.tokens // budget)
    size = -(-part.tokens // count)
    return tuple(
        replace(part, tokens=min(size, part.tokens - i * size), part=i + 1, parts=count, start_line=i + 1)
        for i in range(count)
    )


def batches(parts: list[FilePart]) -> tuple[Batch, ...]:
    return make_batches(parts, BUDGET, split, lambda p: OVERHEAD, ANCHORS)


def shape(batch: Batch) -> tuple[tuple[str, int], ...]:
    return tuple((p.label, p.tokens) for p in batch.parts)


def cost(batch: Batch) -> int:
    return sum(p.tokens + OVERHEAD for p in batch.parts)


def folder(path: str) -> str:
    return path.rpartition("/")[0]


def folder_cost(parts: list[FilePart], name: str) -> int:
    return sum(p.tokens + OVERHEAD for p in parts if folder(p.path) == name)


# Built once: a strategy made inside the composite is built and validated again at every draw, which
# cost Hypothesis most of these tests' time; the trees drawn are the same.
_NAMES = st.lists(st.sampled_from(FOLDERS), min_size=1, max_size=len(FOLDERS), unique=True)
_COUNTS = st.integers(1, 8)
_TOKENS = st.one_of(st.integers(1, 150), st.integers(1, 2 * BUDGET))


@st.composite
def trees(draw: st.DrawFn) -> list[FilePart]:
    """Up to 60 files in up to ten folders, most small, a few larger than a batch."""
    names = draw(_NAMES)
    parts: list[FilePart] = []
    for name in names:
        for i in range(draw(_COUNTS)):
            tokens = draw(_TOKENS)
            path = f"{name}/f{i}.py" if name else f"f{i}.py"
            parts.append(FilePart(path, "", tokens, path))
    return parts


def where(result: tuple[Batch, ...], path: str) -> int:
    return next(b.index for b in result if any(p.path == path for p in b.parts))


def changed(before: tuple[Batch, ...], after: tuple[Batch, ...], drop: str = "") -> list[int]:
    """Indexes of old batches that are not in the new plan as they were (less the file `drop`)."""
    now = {shape(b) for b in after}
    return [b.index for b in before if tuple(s for s in shape(b) if s[0] != drop) not in now]


@settings(max_examples=100, deadline=None)
@given(trees())
def test_batches_fit_and_keep_the_teaching_order(parts: list[FilePart]) -> None:
    result = batches(parts)
    assert all(cost(b) <= BUDGET for b in result)
    assert [p.path for b in result for p in b.parts if p.part == 1] == [p.path for p in teaching_order(parts)]
    assert [b.index for b in result] == list(range(len(result)))
    if len(result) > 1:  # every anchor starts a batch (the first item of an anchored folder or file)
        starts = {id(b.parts[0]) for b in result}
        seen: set[str] = set()
        for p in (p for b in result for p in b.parts):
            name, first = folder(p.path), folder(p.path) not in seen
            seen.add(name)
            fits = folder_cost(parts, name) <= BUDGET
            if (fits and first and folder_anchor(p.path, ANCHORS)) or (
                not fits and p.part == 1 and file_anchor(p.path, ANCHORS)
            ):
                assert id(p) in starts, p.label
    for b in result:  # a folder that fits in a batch is never torn apart
        for name in {folder(p.path) for p in b.parts}:
            if folder_cost(parts, name) <= BUDGET:
                assert sum(p.tokens + OVERHEAD for p in b.parts if folder(p.path) == name) == folder_cost(
                    parts, name
                )


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_file_that_grows_within_its_batch_changes_only_that_batch(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    whole = [p for p in parts if p.tokens + OVERHEAD <= BUDGET]  # in folders that fit and larger ones
    room = {p.path: BUDGET - cost(before[where(before, p.path)]) for p in whole}
    candidates = [p for p in whole if room[p.path] > 0]
    if not candidates:
        return
    grown = data.draw(st.sampled_from(candidates))
    delta = data.draw(st.integers(1, room[grown.path]))
    after = batches([replace(p, tokens=p.tokens + delta) if p == grown else p for p in parts])
    home = where(before, grown.path)
    assert len(after) == len(before)
    assert [shape(b) for b in after if b.index != home] == [shape(b) for b in before if b.index != home]
    assert [p.path for p in after[home].parts] == [p.path for p in before[home].parts]


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_file_that_outgrows_its_batch_moves_nothing_before_it_or_past_the_next_anchor(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    shared = [p for p in parts if p.tokens + OVERHEAD < cost(before[where(before, p.path)])]
    if not shared:
        return  # no file shares a batch: none can outgrow one and stay whole
    grown = data.draw(st.sampled_from(shared))
    home = where(before, grown.path)
    delta = data.draw(st.integers(BUDGET - cost(before[home]) + 1, BUDGET - OVERHEAD - grown.tokens))
    after = batches([replace(p, tokens=p.tokens + delta) if p == grown else p for p in parts])
    assert cost(after[where(after, grown.path)]) <= BUDGET
    high = min(
        [b.index for b in before if _starts_at_anchor(before, parts, b) and b.index > home], default=None
    )
    # A folder that no longer fits in a batch goes file by file: its first files may join the batch before.
    kept = (
        home - 1
        if folder_cost(parts, folder(grown.path)) + delta > BUDGET >= folder_cost(parts, folder(grown.path))
        else home
    )
    assert [shape(b) for b in after[: max(kept, 0)]] == [shape(b) for b in before[: max(kept, 0)]]
    if high is not None:
        tail = len(before) - high
        assert [shape(b) for b in after[len(after) - tail :]] == [shape(b) for b in before[high:]]


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_an_added_file_joins_its_folders_batch_and_nothing_else_moves(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    name = data.draw(st.sampled_from(sorted({folder(p.path) for p in parts})))
    home = where(before, next(p.path for p in parts if folder(p.path) == name))
    tokens = data.draw(st.integers(1, 150))
    if (
        folder_cost(parts, name) + tokens + OVERHEAD > BUDGET
        or cost(before[home]) + tokens + OVERHEAD > BUDGET
    ):
        return  # it does not fit: its folder's batch overflows, and the boundaries after it may move
    path = f"{name}/new.py" if name else "new.py"
    after = batches([*parts, FilePart(path, "", tokens, path)])
    assert where(after, path) == home
    assert [shape(b) for b in after if b.index != home] == [shape(b) for b in before if b.index != home]


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_file_added_to_a_folder_larger_than_a_batch_joins_the_batch_of_the_file_before_it(
    parts: list[FilePart], data: st.DataObject
) -> None:
    large = sorted({folder(p.path) for p in parts if folder_cost(parts, folder(p.path)) > BUDGET})
    if not large:
        return
    name = data.draw(st.sampled_from(large))
    path = f"{name}/new.py" if name else "new.py"  # last in its folder's teaching order
    tokens = data.draw(st.integers(1, 150))
    before = batches(parts)
    previous = [p for b in before for p in b.parts if folder(p.path) == name][-1]
    home = next(b.index for b in before if previous in b.parts)
    if file_anchor(path, ANCHORS) or cost(before[home]) + tokens + OVERHEAD > BUDGET:
        return  # it starts a batch, or it does not fit: the boundaries up to the next anchor may move
    after = batches([*parts, FilePart(path, "", tokens, path)])
    assert where(after, path) == home
    assert [shape(b) for b in after if b.index != home] == [shape(b) for b in before if b.index != home]


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_removed_or_shrunk_file_moves_nothing_past_the_anchors_around_it(
    parts: list[FilePart], data: st.DataObject
) -> None:
    if len(parts) < 2:
        return
    gone = data.draw(st.sampled_from(parts))
    shrunk = data.draw(st.integers(0, gone.tokens - 1))  # 0: the file is removed
    left = [replace(p, tokens=shrunk) if p == gone else p for p in parts if p != gone or shrunk]
    before, after = batches(parts), batches(left)
    if sum(p.tokens + OVERHEAD for p in left) <= BUDGET:
        assert len(after) == 1  # what is left fits in one batch: it is one
        return
    home = where(before, gone.path)
    name = folder(gone.path)
    stays = any(folder(p.path) == name for p in left)
    same = stays and (folder_cost(parts, name) > BUDGET) == (folder_cost(left, name) > BUDGET)
    anchored = [  # anchors that hold before and after: not the file if it goes, nor in its folder if
        b.index  # that goes or now fits in a batch
        for b in before
        if _starts_at_anchor(before, parts, b)
        and (
            b.index == 0
            or ((same or folder(b.parts[0].path) != name) and (shrunk or b.parts[0].path != gone.path))
        )
    ]
    low = max(i for i in anchored if i <= home)
    high = min([i for i in anchored if i > home], default=len(before))
    moved = changed(before, after, drop=gone.path)  # the file's own pieces aside
    assert all(low <= i < high for i in moved), (low, high, moved)
    assert [shape(b) for b in after[:low]] == [shape(b) for b in before[:low]]
    tail = len(before) - high
    assert [shape(b) for b in after[len(after) - tail :]] == [shape(b) for b in before[high:]]
    if (low, high) == (home, home + 1):
        assert moved in ([], [home])  # it only left its batch


def _starts_at_anchor(result: tuple[Batch, ...], parts: list[FilePart], batch: Batch) -> bool:
    """True when `batch` starts at a boundary no change elsewhere can move: the first batch, an anchored
    folder that fits in a batch, or an anchored file of a folder larger than a batch."""
    if batch.index == 0:
        return True
    first = batch.parts[0]
    if folder_cost(parts, folder(first.path)) > BUDGET:
        return first.part == 1 and file_anchor(first.path, ANCHORS)
    previous = folder(result[batch.index - 1].parts[-1].path)
    return folder(first.path) != previous and folder_anchor(first.path, ANCHORS)


def _module(name: str, functions: int) -> str:
    return f'"""{name}."""\n\n\n' + "".join(
        f"def {name}_{j}(width: float, height: float) -> float:\n    return width * height * {j}\n\n\n"
        for j in range(functions)
    )


@pytest.fixture
def real_repo(tmp_path: Path) -> Path:
    """Folders of one to three modules of random sizes, one folder larger than a batch, one file larger."""
    rng = random.Random(15)
    repo = tmp_path / "repo"
    for f in range(14):
        for m in range(rng.randint(1, 3)):
            path = repo / "shapes" / f"part{f:02d}" / f"module{m}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_module(f"area_{f}_{m}", rng.randint(2, 14)))
    for m in range(8):
        path = repo / "shapes" / "large" / f"module{m}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(_module(f"large_{m}", rng.randint(4, 14)))
    (repo / "shapes" / "huge.py").write_text(_module("huge", 90))
    return repo


def _plan(repo: Path, cache: Path) -> Prepared:
    settings = resolve_settings(
        repo, {"local": False, "cache_dir": str(cache), "max_batch_tokens": 1000, "secrets": "off"}, {}
    )
    return prepare(settings, git_probe=no_git)


def _room(prepared: Prepared, batch: Batch) -> int:
    return prepared.budget - sum(p.tokens + prepared.composer.part_overhead(p) for p in batch.parts)


def test_a_real_plan_keeps_every_other_batch_when_a_file_grows_or_one_is_added(
    real_repo: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"  # secrets are off: no scanner rules needed
    before = _plan(real_repo, cache)
    assert len(before.batches) >= 10 and any(p.parts > 1 for b in before.batches for p in b.parts)
    home = next(  # a batch with room that ends with a small folder (the new file sorts last in it)
        b
        for b in before.batches
        if _room(before, b) >= 80 and len(b.paths) > 1 and folder(b.paths[-1]).startswith("shapes/part")
    )
    grown = real_repo / home.paths[-1]
    grown.write_text(grown.read_text() + "\n\ndef grown() -> int:\n    return 1\n")
    after = _plan(real_repo, cache)
    assert [shape(b) for b in after.batches if b.index != home.index] == [
        shape(b) for b in before.batches if b.index != home.index
    ]
    assert after.batches[home.index].paths == home.paths
    added = f"{folder(home.paths[-1])}/zz_added.py"
    (real_repo / added).write_text('"""Added."""\n')
    again = _plan(real_repo, cache)
    assert again.batches[home.index].paths == (*home.paths, added)
    assert [shape(b) for b in again.batches if b.index != home.index] == [
        shape(b) for b in before.batches if b.index != home.index
    ]
