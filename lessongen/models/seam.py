"""The model seam: messages in; text, finish reason and usage out. Nothing here imports openai."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

OPENAI_URL = "https://api.openai.com/v1"  # where the openai SDK sends requests without a base URL


def is_openai(base_url: str | None) -> bool:
    """True when calls go to OpenAI itself (no base URL, or OpenAI's own)."""
    return base_url is None or "api.openai.com" in base_url


def server_url(base_url: str | None) -> str:
    """The URL calls go to; shown in logs and run.json, never with a key."""
    return base_url or OPENAI_URL


@dataclass(frozen=True)
class Usage:
    """Token usage as the server reported it."""

    prompt_tokens: int
    completion_tokens: int
    cached_tokens: int = 0


USAGE_FIELDS = tuple(f.name for f in fields(Usage))


class BadCompletion(ValueError):
    """JSON that is not a saved completion."""


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


@dataclass(frozen=True)
class Completion:
    """One answer from the model."""

    text: str
    finish_reason: str
    usage: Usage | None
    attempts: int = 1  # requests it took, retries included
    response_format: str = "text"  # what the server accepted: json_schema, json_object or text

    def as_json(self) -> dict[str, Any]:
        """The completion as JSON (the one place its fields are named; from_json reads it back)."""
        usage = self.usage
        return {
            "text": self.text,
            "finish_reason": self.finish_reason,
            "usage": None if usage is None else asdict(usage),
            "attempts": self.attempts,
            "response_format": self.response_format,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Completion:
        """A completion from as_json's shape; BadCompletion, saying what is wrong, for any other shape."""
        for name in ("text", "finish_reason"):
            if not isinstance(data.get(name), str):
                raise BadCompletion(f"`{name}` missing or not a text")
        usage = data.get("usage")
        if usage is not None and not (
            isinstance(usage, dict) and all(_count(usage.get(k)) for k in USAGE_FIELDS)
        ):
            raise BadCompletion("`usage` is not three token counts")
        attempts, shape = data.get("attempts", 1), data.get("response_format", "text")
        if not _count(attempts):
            raise BadCompletion("`attempts` is not a number")
        if not isinstance(shape, str):
            raise BadCompletion("`response_format` is not a text")
        return cls(
            text=data["text"],
            finish_reason=data["finish_reason"],
            usage=Usage(*(usage[k] for k in USAGE_FIELDS)) if usage is not None else None,
            attempts=attempts,
            response_format=shape,
        )


class ChatModel(Protocol):
    """What lessongen needs from a chat model."""

    def complete(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int, schema: Mapping[str, Any] | None
    ) -> Completion:
        """Answer the chat; with a schema, ask for JSON that follows it where the server supports that."""
        ...

    def close(self) -> None:
        """Release connections or memory."""
        ...


@dataclass
class ScriptedModel:
    """A model that answers from a list, for unit tests and examples; records what it was sent."""

    replies: list[str]
    sent: list[list[dict[str, str]]]

    def complete(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int, schema: Mapping[str, Any] | None
    ) -> Completion:
        """The next scripted reply."""
        self.sent.append([dict(m) for m in messages])
        text = self.replies.pop(0)
        return Completion(text=text, finish_reason="stop", usage=None)

    def close(self) -> None:
        """Nothing to release."""
