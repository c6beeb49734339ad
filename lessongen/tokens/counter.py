"""Token counting: the only module that imports tiktoken.

The rank files of the two encodings the OpenAI chat models use ship inside the package, so counting
never touches the network. Their sha256 is checked when they are loaded.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import Protocol

import tiktoken
import tiktoken.load
import tiktoken.model

from lessongen.errors import UsageError

_FILES = Path(__file__).parent / "tokenizer_files"

# The published sha256 of each shipped rank file (tiktoken's own expected_hash).
_SHIPPED = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

# Split patterns and special tokens are part of each encoding's published definition
# (tiktoken_ext.openai_public); they are data, kept here so the encodings build without a download.
_PATTERNS = {
    "cl100k_base": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
        r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
    ),
    "o200k_base": "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
}
_SPECIAL = {
    "cl100k_base": {
        "<|endoftext|>": 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        "<|endofprompt|>": 100276,
    },
    "o200k_base": {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
}

# tiktoken's merge step is superlinear in the length of one pre-token (a run of letters, punctuation
# or whitespace with no break: 5 MB of letters take seconds), and its regex engine panics on a
# whitespace run of about a million characters. So a run of 2 * _RUN or more characters of one class
# is counted in _RUN-character slices, and the cost stays linear. Trade-off: the count of such a run
# can differ from the exact one by about one token per slice (well under 1% for letters, a few % for
# pure whitespace); text without such runs, i.e. all ordinary source, is counted exactly. Whether a
# run is cut depends on the run alone, so a text counts the same alone or inside a larger message.
_RUN = 8192
_RUN_CLASSES = (r"\S", r"\s", r"[\r\n/]")  # o200k joins "\n" and "/" after punctuation into one piece
_LONG_RUNS = tuple(re.compile(rf"(?<!{c}){c}{{{2 * _RUN},}}") for c in _RUN_CLASSES)
_SPACE = re.compile(r"\s")


def _pure_block(block: str) -> bool:
    """True when a block lies inside one run of a class (cheap: ordinary text fails in a few chars)."""
    return block.isspace() or not block.strip("\r\n/") or _SPACE.search(block) is None


def _long_run_slices(text: str) -> list[str]:
    """The text cut every _RUN characters inside each run of 2 * _RUN or more; usually [text]."""
    # Any such run covers a whole aligned block of _RUN characters, so checking blocks finds them all.
    blocks = range(0, len(text) - _RUN + 1, _RUN)
    if len(text) < 2 * _RUN or not any(_pure_block(text[i : i + _RUN]) for i in blocks):
        return [text]
    cuts = sorted(
        {
            cut
            for pattern in _LONG_RUNS
            for match in pattern.finditer(text)
            for cut in range(match.start() + _RUN, match.end(), _RUN)
        }
    )
    bounds = [0, *cuts, len(text)]
    return [text[start:end] for start, end in pairwise(bounds)]


# Chat framing of the OpenAI chat models (the cookbook's rule).
TOKENS_PER_MESSAGE = 3
TOKENS_PER_NAME = 1
REPLY_PRIMING = 3


@dataclass(frozen=True)
class ChatFraming:
    """Tokens a chat format adds beyond the contents: per message (plus its role's), per name, once."""

    per_message: int
    per_name: int
    reply_priming: int


OPENAI_FRAMING = ChatFraming(TOKENS_PER_MESSAGE, TOKENS_PER_NAME, REPLY_PRIMING)
# A chat template lessongen cannot see (a server's or a local model's tokenizer): an allowance in the
# shape of the common open-model templates (ChatML, Llama 3: a start marker, the role, a separator and
# an end marker around each message, a header before the reply), so prompts are not undercounted; the
# estimate/actual ratio from the usage the server reports corrects the rest.
TEMPLATE_ALLOWANCE = ChatFraming(per_message=4, per_name=1, reply_priming=4)


def encoding_name_for_model(model: str) -> str:
    """The tiktoken encoding for a model name, with a documented fallback for unknown names.

    Names tiktoken knows use its mapping. Otherwise gpt-3.5 and plain gpt-4 names (not gpt-4o,
    gpt-4.1 or gpt-4.5) use cl100k_base, and everything else, including local models whose real
    tokenizer differs, uses o200k_base as the closest modern estimate.
    """
    base = model.split("/")[-1]
    try:
        name = tiktoken.model.encoding_name_for_model(base)
    except KeyError:
        name = ""
    if name in _SHIPPED:
        return name
    lowered = base.lower()
    modern = ("gpt-4o", "gpt-4.1", "gpt-4.5", "chatgpt-4o")
    if lowered.startswith(("gpt-3.5", "gpt-35")) or (
        lowered.startswith("gpt-4") and not lowered.startswith(modern)
    ):
        return "cl100k_base"
    return "o200k_base"


@cache
def load_encoding(name: str) -> tiktoken.Encoding:
    """Build an encoding from the shipped rank file; other names go through tiktoken's own cache."""
    if name not in _SHIPPED:
        try:
            return tiktoken.get_encoding(name)
        except Exception as exc:  # tiktoken raises ValueError or network errors here
            raise UsageError(
                f"encoding {name!r} is not shipped with lessongen and could not be loaded",
                "use a model name that maps to o200k_base or cl100k_base, or set TIKTOKEN_CACHE_DIR",
            ) from exc
    try:
        ranks = tiktoken.load.load_tiktoken_bpe(os.fspath(_FILES / f"{name}.tiktoken"), _SHIPPED[name])
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"the shipped tokenizer file for {name} is missing or corrupt: {exc}",
            "reinstall lessongen",
        ) from exc
    return tiktoken.Encoding(
        name=name, pat_str=_PATTERNS[name], mergeable_ranks=ranks, special_tokens=_SPECIAL[name]
    )


class Counter(Protocol):
    """What the pipeline needs from a tokenizer."""

    @property
    def encoding_name(self) -> str:
        """Names the tokenizer; the token cache keys counts by it."""
        ...

    @property
    def line_additive(self) -> bool:
        """True when no token crosses a safe cut (tokens/pieces.py): pieces count apart what they count whole."""
        ...

    @property
    def threads(self) -> int:
        """How many threads may count at once."""
        ...

    @property
    def framing(self) -> ChatFraming:
        """The chat format's tokens around the contents (OpenAI's rule only for OpenAI encodings)."""
        ...

    @property
    def process_safe(self) -> bool:
        """True when a worker process counts the same with count_texts(encoding_name, ...)."""
        ...

    def count(self, text: str) -> int: ...

    def count_many(self, texts: Sequence[str]) -> list[int]: ...


class TokenCounter:
    """Counts text with tiktoken's encode_ordinary: special-token text is counted, never rejected."""

    # tiktoken's split patterns never join across a safe cut (tokens/pieces.py).
    line_additive = True
    framing = OPENAI_FRAMING  # every encoding shipped here is an OpenAI chat model's
    process_safe = True

    def __init__(self, encoding: tiktoken.Encoding, threads: int | None = None) -> None:
        self._encoding = encoding
        self._threads = threads or _usable_cores()

    @classmethod
    def for_model(cls, model: str) -> TokenCounter:
        """The counter for a model name."""
        return cls(load_encoding(encoding_name_for_model(model)))

    @property
    def encoding_name(self) -> str:
        return str(self._encoding.name)

    @property
    def threads(self) -> int:
        """How many threads count in parallel."""
        return self._threads

    def count(self, text: str) -> int:
        """Tokens in a text; bounded time even for a huge run without a break (see _RUN)."""
        return sum(len(self._encoding.encode_ordinary(piece)) for piece in _long_run_slices(text))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Tokens in many texts; large sets in one contiguous slice per core (tiktoken releases the GIL)."""
        total = sum(len(t) for t in texts)
        if len(texts) < 2 or self._threads < 2 or total < _PARALLEL_CHARS:
            return [self.count(t) for t in texts]
        slices = _balanced_slices(texts, self._threads, total)
        with ThreadPoolExecutor(len(slices)) as pool:
            counted = pool.map(lambda part: [self.count(t) for t in part], slices)
            return [n for part in counted for n in part]


_PARALLEL_CHARS = 256_000  # below this, starting threads costs more than it saves


def _usable_cores() -> int:
    try:
        return max(1, min(len(os.sched_getaffinity(0)), 8))
    except AttributeError:  # not on Linux
        return max(1, min(os.cpu_count() or 1, 8))


def _balanced_slices(texts: Sequence[str], parts: int, total: int) -> list[Sequence[str]]:
    """Contiguous slices of about equal characters, one per thread."""
    slices: list[Sequence[str]] = []
    start, size, goal = 0, 0, total / parts
    for index, text in enumerate(texts):
        size += len(text)
        if size >= goal and len(slices) < parts - 1:
            slices.append(texts[start : index + 1])
            start, size = index + 1, 0
    slices.append(texts[start:])
    return [s for s in slices if len(s)]


def count_texts(encoding_name: str, texts: Sequence[str]) -> list[int]:
    """Counts for a worker process (picklable: it names the encoding instead of carrying it)."""
    counter = TokenCounter(load_encoding(encoding_name), threads=1)
    return [counter.count(t) for t in texts]


def message_overhead(counter: Counter, role: str, name: str | None = None) -> int:
    """Framing tokens of one chat message, without its content, by the counter's chat framing."""
    named = counter.framing.per_name + counter.count(name) if name else 0
    return counter.framing.per_message + counter.count(role) + named


def count_chat(counter: Counter, messages: Iterable[dict[str, str]]) -> int:
    """Prompt tokens of a whole chat by the counter's framing (OpenAI's: per message, per name, priming)."""
    total = counter.framing.reply_priming
    for message in messages:
        total += message_overhead(counter, message["role"], message.get("name"))
        total += counter.count(message.get("content", ""))
    return total
