"""Finding a pinned anchor's lines in today's files: where they are, or how much of them is left. Pure."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from functools import cached_property

from lessongen.script.pins import line_checksum, lines_digest, pin_for
from lessongen.script.scenes import Anchor, Pin
from lessongen.shared.data import file_lines

LIKENESS = 0.5  # at least this share of the anchored lines still there, in order: "changed", not "gone"


class AnchorState(Enum):
    """What became of an anchor's lines since the lesson was written."""

    OK = "ok"
    MOVED = "moved"  # the same lines, elsewhere in the file or in another file
    CHANGED = "changed"  # lines like them are there, but not the same
    GONE = "gone"  # the file is there, the lines are not
    FILE_MISSING = "file missing"
    UNPINNED = "unpinned"  # written before pins: nothing to compare with

    @property
    def stale(self) -> bool:
        """Whether the lesson no longer shows what it explains (a moved anchor is stale until fixed)."""
        return self not in (AnchorState.OK, AnchorState.UNPINNED)


@dataclass(frozen=True)
class Found:
    """Where an anchor's lines are now: `anchor` re-pinned there, with how alike they are (1.0 the same)."""

    state: AnchorState
    anchor: Anchor | None = None
    likeness: float = 0.0


@dataclass(frozen=True)
class FileLines:
    """One file's lines, and a checksum per line once a search needs them."""

    path: str
    lines: tuple[str, ...]

    @classmethod
    def of(cls, path: str, text: str) -> FileLines:
        """A file's lines."""
        return cls(path, tuple(file_lines(text)))

    @cached_property
    def sums(self) -> tuple[str, ...]:
        """Each line's checksum: computed only for a file an anchor is searched in (a current one needs none)."""
        return tuple(line_checksum(line) for line in self.lines)


def pinned_here(anchor: Anchor, lines: Sequence[str]) -> bool:
    """Whether the anchor's lines are exactly where it says (the cheap test every check starts with)."""
    pin = anchor.pin
    return (
        pin is not None
        and anchor.end_line <= len(lines)
        and lines_digest(lines[anchor.start_line - 1 : anchor.end_line]) == pin.lines
    )


def _context_score(pin: Pin, file: FileLines, start: int, end: int) -> int:
    fresh = pin_for(file.lines, start, end)
    return (fresh.before == pin.before) + (fresh.after == pin.after)


def _exact(pin: Pin, old: Anchor, files: Sequence[FileLines]) -> Anchor | None:
    """The copy of the pinned lines whose context matches best, then the nearest the old place."""
    n = len(pin.each_line)
    best: tuple[tuple[int, int, int], Anchor] | None = None
    for order, file in enumerate(files):
        sums = file.sums
        for i in range(len(sums) - n + 1):
            if sums[i] != pin.each_line[0] or sums[i : i + n] != pin.each_line:
                continue
            if lines_digest(file.lines[i : i + n]) != pin.lines:
                continue
            distance = abs(i + 1 - old.start_line) if file.path == old.path else 1 << 30
            rank = (-_context_score(pin, file, i + 1, i + n), order, distance)
            if best is None or rank < best[0]:
                best = (rank, pin_anchor(Anchor(file.path, i + 1, i + n), file))
    return None if best is None else best[1]


def _likeness(pin: Pin, file: FileLines) -> tuple[float, int, int]:
    """How much of the pinned lines survives, in order, around the best-aligned place; and that place."""
    n = len(pin.each_line)
    wanted: dict[str, list[int]] = {}
    for j, checksum in enumerate(pin.each_line):
        wanted.setdefault(checksum, []).append(j)
    votes: Counter[int] = Counter()
    for i, checksum in enumerate(file.sums):
        for j in wanted.get(checksum, ()):
            votes[i - j] += 1
    if not votes:
        return 0.0, 0, 0
    offset = votes.most_common(1)[0][0]
    low, high = max(0, offset - n // 2), min(len(file.sums), offset + n + n // 2)
    matcher = difflib.SequenceMatcher(None, pin.each_line, file.sums[low:high], autojunk=False)
    blocks = [b for b in matcher.get_matching_blocks() if b.size]
    if not blocks:
        return 0.0, 0, 0
    matched = sum(b.size for b in blocks)
    return matched / n, low + blocks[0].b + 1, low + blocks[-1].b + blocks[-1].size


def _alike(pin: Pin, files: Iterable[FileLines]) -> Found | None:
    """The most alike lines among `files`, when alike enough to call the anchor changed."""
    best: Found | None = None
    for file in files:
        share, start, end = _likeness(pin, file)
        if share >= LIKENESS and (best is None or share > best.likeness):
            best = Found(AnchorState.CHANGED, Anchor(file.path, start, end), round(share, 3))
    return best


def locate(
    anchor: Anchor, own: FileLines | None, others: Callable[[], Mapping[str, FileLines]] | None = None
) -> Found:
    """What became of a pinned anchor: its own file (None when missing) first, then the `others`.

    `others` is asked for only when the lines are not in their own file: a rename, or code moved away.
    """
    pin = anchor.pin
    if pin is None:
        return Found(AnchorState.UNPINNED)
    if own is not None and pinned_here(anchor, own.lines):
        return Found(AnchorState.OK, anchor, 1.0)
    mine = [own] if own is not None else []
    hit = _exact(pin, anchor, mine)
    if hit is None and others is not None:
        pool = others()
        hit = _exact(pin, anchor, [f for p, f in sorted(pool.items()) if p != anchor.path])
        mine = mine or [f for p, f in sorted(pool.items()) if p != anchor.path]
    if hit is not None:
        return Found(AnchorState.MOVED, hit, 1.0)
    alike = _alike(pin, mine)
    if alike is not None:
        return alike
    return Found(AnchorState.GONE if own is not None else AnchorState.FILE_MISSING)


def pin_anchor(anchor: Anchor, file: FileLines) -> Anchor:
    """The anchor pinned to the file's current lines."""
    return Anchor(
        anchor.path,
        anchor.start_line,
        anchor.end_line,
        pin_for(file.lines, anchor.start_line, anchor.end_line),
    )
