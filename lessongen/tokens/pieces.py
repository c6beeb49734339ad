"""Where a text may be cut without changing its token count: the pieces counted apart and grouped later."""

from __future__ import annotations

import re
import zlib

# Small enough that a piece of the densest text (about 0.45 tokens a character) stays under a typical
# batch budget, so a file larger than a batch is grouped from counted pieces without counting again.
PIECE_CHARS = 16384

# After a newline followed by a character that is neither white space nor a slash, or by spaces or tabs
# and then such a character. tiktoken's split patterns (o200k_base and cl100k_base) end every piece at
# the last newline of a run of white space, and join a newline only to the punctuation before it or to
# a slash right after it, so no piece crosses such a cut.
_SAFE_CUT = re.compile(r"\n(?=[^\s/]|[ \t]+\S)")


def safe_pieces(text: str, size: int = PIECE_CHARS) -> list[str]:
    """Consecutive pieces of about `size` characters (the last up to twice that), each cut at a safe
    cut (see _SAFE_CUT): with tiktoken, a text's tokens are exactly the sum of its pieces' tokens."""
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


# Names how texts are cut into pieces: piece counts remembered under another cut are never used. The
# pattern and size are in it; bump the version when safe_pieces itself cuts differently.
_CUTS = f"v1-{PIECE_CHARS}-{zlib.crc32(_SAFE_CUT.pattern.encode()):08x}"


def piece_key(digest: str, index: int) -> str:
    """Where the token cache keeps the count of the `index`th safe piece of the content `digest` names:
    a large file's pieces are counted when it is, and found again by its digest without hashing each."""
    return f"{digest}:piece-{_CUTS}:{index}"
