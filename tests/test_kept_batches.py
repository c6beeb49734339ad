"""An update's batches: the previous batches kept exactly, only the batch a change touches differs."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from test_stable_batches import ANCHORS, BUDGET, OVERHEAD, batches, cost, folder, split, trees, where

from lessongen.batching import Anchoring, make_batches, teaching_order
from lessongen.kept_batches import keep_batches
from lessongen.shared.data import Batch, FilePart

Parts = tuple[FilePart, ...]


def kept(parts: list[FilePart], before: tuple[Batch, ...]) -> tuple[Batch, ...]:
    """The update's batches of `parts`, the previous lesson's batches being `before`."""
    return keep_batches(parts, [b.paths for b in before], BUDGET, split, lambda p: OVERHEAD, ANCHORS)


def edited(parts: list[FilePart], path: str, tokens: int) -> list[FilePart]:
    """The tree with the file `path` at `tokens` tokens (and a new digest: its content changed)."""
    return [replace(p, tokens=tokens, digest=f"{p.path}:{tokens}") if p.path == path else p for p in parts]


def repacked(members: Parts) -> list[Parts]:
    """What a batch that outgrew its budget becomes: its members packed again on their own."""
    return [b.parts for b in batches(list(members))]


def whole_files(parts: list[FilePart]) -> list[FilePart]:
    return [p for p in parts if p.tokens + OVERHEAD <= BUDGET]


def check_valid(result: tuple[Batch, ...], parts: list[FilePart]) -> None:
    """Batches fit, are numbered in order, and hold every file once (its pieces in order)."""
    assert all(cost(b) <= BUDGET for b in result)
    assert [b.index for b in result] == list(range(len(result)))
    firsts = sorted(p.path for b in result for p in b.parts if p.part == 1)
    assert firsts == sorted(p.path for p in parts)


@settings(max_examples=100, deadline=None)
@given(trees())
def test_an_unchanged_tree_keeps_every_batch(parts: list[FilePart]) -> None:
    before = batches(parts)
    assert kept(parts, before) == before


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_an_edit_within_room_or_a_shrink_changes_only_its_batch(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    target = data.draw(st.sampled_from(whole_files(parts) or parts))
    if target.tokens + OVERHEAD > BUDGET:
        return  # only split files: see the test of split files
    home = where(before, target.path)
    tokens = data.draw(st.integers(1, target.tokens + BUDGET - cost(before[home])))
    after = kept(edited(parts, target.path, tokens), before)
    check_valid(after, parts)
    assert len(after) == len(before)
    assert [b.parts for b in after if b.index != home] == [b.parts for b in before if b.index != home]
    assert after[home].paths == before[home].paths


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_removal_leaves_its_batch_and_nothing_else_moves(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    gone = data.draw(st.sampled_from(parts)).path
    after = kept([p for p in parts if p.path != gone], before)
    expected = [tuple(p for p in b.parts if p.path != gone) for b in before]
    assert [b.parts for b in after] == [b for b in expected if b]  # a batch left empty vanishes


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_an_edit_that_outgrows_its_batch_repacks_only_that_batch(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    shared = [p for p in whole_files(parts) if p.tokens + OVERHEAD < cost(before[where(before, p.path)])]
    if not shared:
        return  # no file shares a batch: none can outgrow one and stay whole
    grown = data.draw(st.sampled_from(shared))
    home = where(before, grown.path)
    tokens = data.draw(st.integers(grown.tokens + BUDGET - cost(before[home]) + 1, BUDGET - OVERHEAD))
    now = edited(parts, grown.path, tokens)
    after = kept(now, before)
    check_valid(after, now)
    members = tuple(
        replace(p, tokens=tokens, digest=f"{p.path}:{tokens}") if p == grown else p
        for p in before[home].parts
    )
    expected = [b.parts for b in before[:home]] + repacked(members) + [b.parts for b in before[home + 1 :]]
    assert [b.parts for b in after] == expected
    assert len(after) > len(before)  # it no longer fits in one batch


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_file_added_to_a_folder_joins_the_batch_of_the_file_before_it(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    name = folder(data.draw(st.sampled_from(parts)).path)
    added = FilePart(
        f"{name}/new_{data.draw(st.integers(0, 9))}.py".lstrip("/"), "", data.draw(st.integers(1, 150)), "new"
    )
    now = [*parts, added]
    ordered = [p.path for p in teaching_order(now) if folder(p.path) == name]
    position = ordered.index(added.path)
    neighbour = ordered[position - 1] if position else ordered[1]
    # The batch that held the neighbour's last piece (before it) or its first piece (after it).
    held = [b.index for b in before if neighbour in b.paths]
    home = held[-1] if position else held[0]
    after = kept(now, before)
    check_valid(after, now)
    members = tuple(teaching_order([*before[home].parts, added]))
    grown = [members] if cost(before[home]) + added.tokens + OVERHEAD <= BUDGET else repacked(members)
    expected = [b.parts for b in before[:home]] + grown + [b.parts for b in before[home + 1 :]]
    assert [b.parts for b in after] == expected


def differences(expected: list[Parts], after: tuple[Batch, ...]) -> tuple[list[Parts], list[Parts]]:
    """The expected batches missing from `after`, and the batches of `after` not expected; the others
    must be in `after` in their order."""
    present, wanted = {b.parts for b in after}, set(expected)
    kept_ones = [b.parts for b in after if b.parts in wanted]
    assert kept_ones == [b for b in expected if b in present]
    return [b for b in expected if b not in present], [b.parts for b in after if b.parts not in wanted]


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_new_folder_joins_its_neighbours_batch_or_gets_its_own_there(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    sizes = data.draw(st.lists(st.integers(1, 150), min_size=1, max_size=4))
    name = data.draw(st.sampled_from(["aaa", "src/new", "tests/new", "zzz"]))
    added = [FilePart(f"{name}/n{i}.py", "", t, f"n{i}") for i, t in enumerate(sizes)]
    now = [*parts, *added]
    after = kept(now, before)
    check_valid(after, now)
    missing, extra = differences([b.parts for b in before], after)
    if missing:  # it joined one neighbour's batch, where it fits
        assert len(missing) == 1 and len(extra) == 1
        assert extra[0] == tuple(teaching_order([*missing[0], *added]))
    else:  # batches of its own, side by side, where teaching order puts the folder
        assert extra == repacked(tuple(added))
        first = next(b.index for b in after if b.parts == extra[0])
        assert [b.parts for b in after[first : first + len(extra)]] == extra
        ordered = [p.path for p in teaching_order(now)]
        start = ordered.index(teaching_order(added)[0].path)
        assert first == 0 if start == 0 else ordered[start - 1] in after[first - 1].paths


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_rename_changes_only_the_batch_the_new_name_joins(
    parts: list[FilePart], data: st.DataObject
) -> None:
    before = batches(parts)
    target = data.draw(st.sampled_from(whole_files(parts) or parts))
    renamed = replace(target, path=f"{folder(target.path)}/r{data.draw(st.integers(0, 9))}.py".lstrip("/"))
    if target.tokens + OVERHEAD > BUDGET or renamed.path in {p.path for p in parts}:
        return
    now = [renamed if p == target else p for p in parts]
    after = kept(now, before)
    check_valid(after, now)
    expected = [tuple(p for p in b.parts if p != target) for b in before]
    missing, extra = differences([b for b in expected if b], after)  # the old name left its batch
    assert len(missing) <= 1
    assert sorted(p.path for b in extra for p in b) == sorted(
        [renamed.path, *(p.path for b in missing for p in b)]
    )


@settings(max_examples=100, deadline=None)
@given(trees(), st.data())
def test_a_split_file_that_changes_keeps_the_batches_around_it(
    parts: list[FilePart], data: st.DataObject
) -> None:
    large = [p for p in parts if p.tokens + OVERHEAD > BUDGET]
    if not large:
        return
    before = batches(parts)
    target = data.draw(st.sampled_from(large))
    now = edited(parts, target.path, data.draw(st.integers(1, 2 * BUDGET)))
    after = kept(now, before)
    check_valid(after, now)
    # Every batch that did not hold the file is there as it was, in the same order.
    missing, _ = differences([b.parts for b in before if target.path not in b.paths], after)
    assert not missing


def test_a_split_files_pieces_stay_in_their_batches_when_a_neighbour_outgrows_its_own() -> None:
    none = Anchoring(folders=0, files=0)
    parts = [
        FilePart("src/a.py", "", 1, "a"),
        FilePart("src/b.py", "", 391, "b"),
        FilePart("src/c.py", "", 1, "c"),
    ]
    before = make_batches(parts, BUDGET, split, lambda p: OVERHEAD, none)
    assert [b.paths for b in before] == [("src/a.py", "src/b.py"), ("src/b.py", "src/c.py")]
    grown = [replace(parts[0], tokens=185, digest="a2"), *parts[1:]]
    after = keep_batches(grown, [b.paths for b in before], BUDGET, split, lambda p: OVERHEAD, none)
    assert [[p.label for p in b.parts] for b in after] == [
        ["src/a.py"],  # its batch no longer fits: packed again on its own, into two
        ["src/b.py (part 1 of 2, lines 1-1)"],
        ["src/b.py (part 2 of 2, lines 2-1)", "src/c.py"],  # as it was
    ]
    assert after[2].parts == before[1].parts
