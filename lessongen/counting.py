"""Counting the repository's files, and splitting a file too large for one batch into line ranges."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from lessongen.data import FilePart, SourceFile
from lessongen.tokencache import TokenCache
from lessongen.tokens import Counter


def count_files(files: Sequence[SourceFile], counter: Counter, cache: TokenCache) -> tuple[FilePart, ...]:
    """One whole-file part per file with its token count, counting only content the cache lacks."""
    missing = [f for f in files if cache.get(f.digest) is None]
    if missing:
        counts = counter.count_many([f.text for f in missing])
        cache.put_many({f.digest: n for f, n in zip(missing, counts, strict=True)})
        cache.flush()
    return tuple(
        FilePart(
            path=f.path,
            text=f.text,
            tokens=cache.get(f.digest) or 0,
            digest=f.digest,
            start_line=1,
            end_line=max(f.line_count, 1),
        )
        for f in files
    )


def _piece(part: FilePart, text: str, tokens: int, start: int, end: int) -> FilePart:
    digest = hashlib.blake2b(f"{part.digest}:{start}:{end}:{text}".encode(), digest_size=16).hexdigest()
    return FilePart(part.path, text, tokens, digest, start_line=start, end_line=end)


def _split_line(line: str, budget: int, counter: Counter) -> list[str]:
    """A single line longer than a batch, cut at character positions (rare: minified or data lines)."""
    pieces: list[str] = []
    rest = line
    width = max(budget * 3, 64)
    while rest:
        chunk = rest[:width]
        while counter.count(chunk) > budget and len(chunk) > 16:
            chunk = chunk[: len(chunk) * 3 // 4]
        pieces.append(chunk)
        rest = rest[len(chunk) :]
    return pieces


def split_part(part: FilePart, budget: int, counter: Counter) -> tuple[FilePart, ...]:
    """Cut a file into consecutive line ranges of at most `budget` tokens each; nothing is dropped."""
    if part.tokens <= budget:
        return (part,)
    lines = part.text.splitlines(keepends=True)
    line_tokens = counter.count_many(lines)
    pieces: list[tuple[str, int, int]] = []  # text, first line, last line
    start, estimate = 0, 0
    chunk: list[str] = []
    for index, (line, tokens) in enumerate(zip(lines, line_tokens, strict=True)):
        if tokens > budget:
            if chunk:
                pieces.append(("".join(chunk), start + 1, index))
            pieces += [(p, index + 1, index + 1) for p in _split_line(line, budget, counter)]
            start, chunk, estimate = index + 1, [], 0
            continue
        if chunk and estimate + tokens > budget * 0.95:
            pieces.append(("".join(chunk), start + 1, index))
            start, chunk, estimate = index, [], 0
        chunk.append(line)
        estimate += tokens
    if chunk:
        pieces.append(("".join(chunk), start + 1, len(lines)))
    exact: list[tuple[str, int, int, int]] = []
    for text, first, last in pieces:
        tokens = counter.count(text)
        if tokens > budget and last > first:
            # Joining lines can merge tokens across line ends; halve the rare range that overshoots.
            middle = (first + last) // 2
            head = "".join(lines[first - 1 : middle])
            tail = "".join(lines[middle:last])
            exact += [
                (head, counter.count(head), first, middle),
                (tail, counter.count(tail), middle + 1, last),
            ]
        else:
            exact.append((text, tokens, first, last))
    total = len(exact)
    return tuple(
        FilePart(
            p.path,
            p.text,
            p.tokens,
            p.digest,
            part=i + 1,
            parts=total,
            start_line=p.start_line,
            end_line=p.end_line,
        )
        for i, p in enumerate(_piece(part, text, tokens, first, last) for text, tokens, first, last in exact)
    )
