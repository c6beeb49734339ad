"""How much of a run its journal already answers: the calls a resume replays instead of paying for."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress
from typing import Any

from lessongen.conversation.journal import Journal
from lessongen.conversation.ledger import LedgerEntry
from lessongen.conversation.live_run import Runner
from lessongen.conversation.prepared import Prepared
from lessongen.errors import LessongenError
from lessongen.models.seam import Completion


class _Unanswered(Exception):
    """The first call the journal holds no answer for."""


class _JournalOnly:
    """A model that never answers: every call it is asked is one the journal could not replay."""

    def complete(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int, schema: Mapping[str, Any] | None
    ) -> Completion:
        raise _Unanswered

    def close(self) -> None:
        """Nothing to release."""


class _Quiet:
    """An observer that shows nothing."""

    def call_started(self, index: int, label: str, estimate: int, replay: bool) -> None:
        """Nothing to show."""

    def call_finished(self, entry: LedgerEntry, batches_done: int, batches_total: int) -> None:
        """Nothing to show."""

    def note(self, text: str) -> None:
        """Nothing to show."""


def replayable(prepared: Prepared, journal: Journal) -> int:
    """How many of this run's calls the journal answers: those before the first it has no answer for.

    The run is driven exactly as a live run would be, with the saved answers only; every later call
    carries that first new answer (or a summary of it) in its history, so none of them can match.
    """
    runner = Runner(prepared, _JournalOnly(), journal, _Quiet())
    with suppress(_Unanswered, LessongenError):  # the first call it cannot answer ends the count
        runner.run()
    return sum(1 for entry in runner.chat.entries if entry.replayed)
