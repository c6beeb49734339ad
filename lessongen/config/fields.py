"""How a setting's value is read: parsers that validate a value from a file, the environment or a flag."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

E = TypeVar("E", bound=StrEnum)


class Secret:
    """A value that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it is handed to the HTTP client."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


def text(value: object) -> str:
    """A non-empty, stripped text."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty text")
    return value.strip()


def url(value: object) -> str:
    """An http(s) URL with a host, such as http://127.0.0.1:8000/v1."""
    given = text(value)
    parts = urllib.parse.urlsplit(given)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected an http:// or https:// URL with a host")
    return given


def whole(minimum: int) -> Callable[[object], int]:
    """A parser of whole numbers at or above `minimum`."""

    def parse(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        try:
            parsed = int(str(value).replace("_", "")) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError("expected a whole number") from None
        if parsed < minimum:
            raise ValueError(f"expected a whole number >= {minimum}")
        return parsed

    return parse


def number(low: float, high: float | None = None) -> Callable[[object], float]:
    """A parser of numbers between `low` and `high`."""

    def parse(value: object) -> float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            parsed = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if not math.isfinite(parsed):  # nan passes every comparison below and would turn a cap off
            raise ValueError("expected a finite number")
        if parsed < low or (high is not None and parsed > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ValueError(f"expected a number {bound}")
        return parsed

    return parse


def flag(value: object) -> bool:
    """true/false, yes/no, on/off or 1/0."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in {"1", "true", "yes", "on"}:
        return True
    if word in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def globs(value: object) -> tuple[str, ...]:
    """Glob patterns from a list or a comma-separated text."""
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(part).strip() for part in value]
    else:
        raise ValueError("expected a list of glob patterns")
    return tuple(item for item in items if item)


def choice(kind: type[E]) -> Callable[[object], E]:
    """A parser of one member of an enum, by its value."""

    def parse(value: object) -> E:
        word = str(value).strip().lower()
        try:
            return kind(word)
        except ValueError:
            raise ValueError("expected one of " + ", ".join(m.value for m in kind)) from None

    return parse


def path(value: object) -> Path:
    """A path, with ~ expanded."""
    return Path(text(str(value) if isinstance(value, Path) else value)).expanduser()


def secret(value: object) -> Secret:
    """A value kept out of every repr."""
    return Secret(text(value))


MODEL_KEYS = {
    "context_window": whole(256),
    "max_output_tokens": whole(16),
    "max_input_tokens": whole(256),
    "input_price": number(0.0),
    "cached_input_price": number(0.0),
    "output_price": number(0.0),
}
