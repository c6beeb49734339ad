"""Cutting a file too large for one batch into consecutive line ranges, each within the batch budget."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lessongen.shared.data import FilePart, text_digest
from lessongen.tokens.counter import Counter
from lessongen.tokens.pieces import safe_pieces

PieceCounts = Callable[[str, Sequence[str]], list[int]]  # a content's digest and safe pieces -> counts


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


def split_part(
    part: FilePart, budget: int, counter: Counter, pieces_of: PieceCounts | None = None
) -> tuple[FilePart, ...]:
    """Cut a file into consecutive line ranges of at most `budget` tokens each; nothing is dropped.

    With a line-additive counter the file's safe pieces are grouped without counting again, their
    counts given by `pieces_of` (the part's digest and its pieces; CachedCounter.count_pieces keeps
    the ones made when the file was counted); a piece larger than the budget, or a file from another
    counter, is cut at line ranges estimated from its tokens per character and counted once.
    """
    if part.tokens <= budget:
        return (part,)
    units = safe_pieces(part.text) if counter.line_additive else [part.text]
    if len(units) < 2:
        counts = [part.tokens]
    else:
        counts = pieces_of(part.digest, units) if pieces_of is not None else counter.count_many(units)
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
