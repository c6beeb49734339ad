"""The reply sizes a conversation has seen, and the high percentile of them its decisions plan for."""

from __future__ import annotations

import bisect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lessongen.conversation.fit import CallKind

_PERCENTILE = 0.9  # replies seen so far steer the decisions by a high percentile, not the mean


@dataclass(frozen=True)
class Seen:
    """A reply's size as it entered the history, and how many scenes its request asked for."""

    kind: CallKind
    scenes: int
    tokens: int


def percentile(values: Sequence[float], share: float = _PERCENTILE) -> float:
    """The nearest-rank percentile (the largest value for a handful of samples)."""
    return _ranked(sorted(values), share)


def _ranked(ordered: Sequence[float], share: float = _PERCENTILE) -> float:
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def _size(seen: Seen) -> float:
    return seen.tokens / seen.scenes if seen.kind is CallKind.BATCH else seen.tokens


@dataclass(frozen=True)
class SeenSizes:
    """The sizes of the replies seen, sorted per kind once, so a plan's thousands of decisions never sort.

    Batch calls are kept as tokens per scene, the others as tokens.
    """

    count: int  # how many replies they cover
    by_kind: Mapping[CallKind, tuple[float, ...]]

    @classmethod
    def of(cls, seen: Sequence[Seen]) -> SeenSizes:
        """The sizes of `seen`, sorted."""
        by_kind: dict[CallKind, list[float]] = {}
        for one in seen:
            by_kind.setdefault(one.kind, []).append(_size(one))
        return cls(len(seen), {kind: tuple(sorted(values)) for kind, values in by_kind.items()})

    def plus(self, seen: Seen) -> SeenSizes:
        """These sizes and one more reply's."""
        values = list(self.by_kind.get(seen.kind, ()))
        bisect.insort(values, _size(seen))
        return SeenSizes(self.count + 1, {**self.by_kind, seen.kind: tuple(values)})

    def percentile(self, kind: CallKind) -> float | None:
        """The high percentile of this kind's sizes (None: none seen)."""
        values = self.by_kind.get(kind)
        return _ranked(values) if values else None


NONE_SEEN = SeenSizes(0, {})
