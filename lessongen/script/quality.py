"""The quality gate: how much of a lesson is usable, and whether a strict run may pass with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lessongen.script.assemble import Script
from lessongen.shared.text import first_few, plural


@dataclass(frozen=True)
class Quality:
    """What in a script needs a human: flagged chapters (raw replies) and anchors dropped as unusable."""

    chapters: int
    flagged: tuple[str, ...]  # the flagged chapters' sources ("batch 3", "intro")
    anchors: int  # every anchor the model gave, kept or dropped
    dropped: int

    @property
    def dropped_share(self) -> float:
        """Dropped anchors over all anchors the model gave (0.0 when it gave none)."""
        return self.dropped / self.anchors if self.anchors else 0.0

    def as_json(self) -> dict[str, Any]:
        """JSON-ready fields, as run.json's `quality` holds them."""
        return {
            "chapters": self.chapters,
            "flagged_chapters": len(self.flagged),
            "flagged": list(self.flagged),
            "anchors": self.anchors,
            "dropped_anchors": self.dropped,
            "dropped_share": round(self.dropped_share, 4),
        }


def measure(script: Script) -> Quality:
    """The script's flagged chapters and dropped anchors."""
    dropped = sum(1 for issue in script.anchor_issues if not issue.repaired)
    kept = sum(len(s.anchors) for c in script.chapters for s in c.scenes)
    flagged = tuple(c.source for c in script.chapters if any(s.flagged for s in c.scenes))
    return Quality(len(script.chapters), flagged, kept + dropped, dropped)


def gate_failure(quality: Quality, max_dropped_share: float) -> str:
    """Why a strict run fails with this script ("" when it passes): any flagged chapter, or too many dropped anchors."""
    problems = []
    if quality.flagged:
        problems.append(
            f"{plural(len(quality.flagged), 'chapter')} flagged ({first_few(quality.flagged, 5)})"
        )
    if quality.dropped_share > max_dropped_share:
        problems.append(
            f"{quality.dropped} of {quality.anchors} anchors dropped ({quality.dropped_share:.0%}, "
            f"more than max_dropped_anchors {max_dropped_share:.0%})"
        )
    return "; ".join(problems)
