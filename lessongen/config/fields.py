"""How each setting is read: a parser per key that validates a value from a file, the environment or a flag."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty text")
    return value.strip()


def _int(minimum: int) -> Callable[[object], int]:
    def parse(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        try:
            number = int(str(value).replace("_", "")) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError("expected a whole number") from None
        if number < minimum:
            raise ValueError(f"expected a whole number >= {minimum}")
        return number

    return parse


def _float(low: float, high: float | None = None) -> Callable[[object], float]:
    def parse(value: object) -> float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ValueError(f"expected a number {bound}")
        return number

    return parse


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _globs(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(part).strip() for part in value]
    else:
        raise ValueError("expected a list of glob patterns")
    return tuple(item for item in items if item)


def _choice(*allowed: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return text

    return parse


def _path(value: object) -> Path:
    return Path(_text(str(value) if isinstance(value, Path) else value)).expanduser()


def _secret(value: object) -> Secret:
    return Secret(_text(value))


PARSERS: dict[str, Callable[[object], Any]] = {
    "model": _text,
    "base_url": _text,
    "api_key": _secret,
    "context_window": _int(256),
    "max_input_tokens": _int(256),
    "max_output_tokens": _int(16),
    "input_price": _float(0.0),
    "cached_input_price": _float(0.0),
    "output_price": _float(0.0),
    "include": _globs,
    "exclude": _globs,
    "max_file_bytes": _int(1),
    "use_git": _bool,
    "keep_recent": _int(0),
    "summary_threshold": _float(0.1, 1.0),
    "preflight_limit": _float(0.1, 1.0),
    "reply_tokens": _int(1),
    "summary_reply_tokens": _int(1),
    "intro_reply_tokens": _int(1),
    "max_reply_tokens": _int(16),
    "max_batch_tokens": _int(256),
    "max_cost": _float(0.0),
    "max_calls": _int(1),
    "prompts_dir": _path,
    "output": _path,
    "cache_dir": _path,
    "timeout": _float(1.0),
    "max_retries": _int(0),
    "local": _bool,
    "model_path": _path,
    "fallback_context_window": _int(256),
    "refresh": _bool,
    "secrets": _choice("redact", "skip-file", "fail", "off"),
}

MODEL_KEYS = {
    "context_window": _int(256),
    "max_output_tokens": _int(16),
    "max_input_tokens": _int(256),
    "input_price": _float(0.0),
    "cached_input_price": _float(0.0),
    "output_price": _float(0.0),
}
