"""Errors that carry their documented exit code and a one-line hint for the user."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes; documented in the README."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    DOES_NOT_FIT = 3
    OVER_BUDGET = 4
    MODEL = 5
    OUTPUT = 6
    QUALITY = 7
    STALE = 8  # lessongen check: some anchor no longer shows the code its lesson explains
    INTERRUPTED = 130


class LessongenError(Exception):
    """Base class: a message for the user, what to do next, and an exit code."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """The message and the hint on one line."""
        return f"{self.message} ({self.hint})" if self.hint else self.message


class UsageError(LessongenError):
    """A bad flag, path or configuration value."""

    exit_code = ExitCode.USAGE


class DoesNotFitError(LessongenError):
    """A call would not fit the model's context window."""

    exit_code = ExitCode.DOES_NOT_FIT


class OverBudgetError(LessongenError):
    """The cost or call cap would be exceeded."""

    exit_code = ExitCode.OVER_BUDGET


class ModelError(LessongenError):
    """The model server failed in a way retries could not fix."""

    exit_code = ExitCode.MODEL


class OutputError(LessongenError):
    """The output folder cannot be written, or would be overwritten."""

    exit_code = ExitCode.OUTPUT


class QualityError(LessongenError):
    """A strict run finished, but with flagged chapters or too many dropped anchors."""

    exit_code = ExitCode.QUALITY


class InterruptedRun(LessongenError):
    """The user interrupted the run; the state on disk is resumable."""

    exit_code = ExitCode.INTERRUPTED
