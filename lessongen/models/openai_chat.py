"""The ChatModel over the openai SDK's Chat Completions: the only module that imports openai."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import openai

from lessongen.config.fields import Secret
from lessongen.errors import DoesNotFitError, ModelError, UsageError
from lessongen.models.deadline import DeadlineClient
from lessongen.models.seam import Completion, Usage, is_openai, server_url
from lessongen.shared.cache import Cache

# Placeholder for local servers that need no key: the SDK insists on one.
_NO_KEY = "no-key-needed"
# Response formats to try, most structured first; a server that rejects one is asked with the next.
_FORMATS = ("json_schema", "json_object+schema", "json_object", "text")


class OpenAIChatModel:
    """Chat Completions with timeouts, retries with backoff on 429/5xx/timeouts (Retry-After honoured)."""

    def __init__(
        self,
        model: str,
        api_key: Secret | None,
        base_url: str | None,
        timeout: float = 120.0,
        max_retries: int = 5,
        malformed_retries: int = 2,
        formats: Cache | None = None,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        if api_key is None and is_openai(base_url):
            raise UsageError(
                "no API key for OpenAI",
                "set OPENAI_API_KEY, or --base-url for a server that needs no key",
            )
        self._client = openai.OpenAI(
            api_key=api_key.reveal() if api_key else _NO_KEY,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            http_client=DeadlineClient(timeout),
        )
        self._model = model
        self._official = is_openai(base_url)
        self._malformed_retries = malformed_retries
        self._pause = pause  # between malformed answers
        self.where = server_url(base_url)
        self._formats = formats  # what each server accepted, remembered between runs
        self._format_key = f"{self.where}|{model}"
        entry = formats.get(self._format_key) if formats else None
        remembered = entry.value if entry else None
        self._format_index = _FORMATS.index(remembered) if remembered in _FORMATS else 0
        self._format_confirmed = remembered in _FORMATS

    def close(self) -> None:
        """Release the HTTP connections."""
        self._client.close()

    def _response_format(self, schema: Mapping[str, Any] | None) -> dict[str, Any] | None:
        kind = _FORMATS[self._format_index] if schema is not None else "text"
        if kind == "json_schema":
            if self._official:  # OpenAI enforces a schema only in strict mode, which has no maxLength
                strict = _without(dict(schema or {}), "maxLength")
                return {
                    "type": "json_schema",
                    "json_schema": {"name": "chapter", "schema": strict, "strict": True},
                }
            return {"type": "json_schema", "json_schema": {"name": "chapter", "schema": dict(schema or {})}}
        if kind == "json_object+schema":
            return {"type": "json_object", "schema": dict(schema or {})}
        if kind == "json_object":
            return {"type": "json_object"}
        return None

    def _step_down(self) -> None:
        self._format_index += 1
        self._remember()

    def _remember(self) -> None:
        self._format_confirmed = True
        if self._formats is not None:  # an optimisation: a cache that fails only turns itself off
            self._formats.put(self._format_key, _FORMATS[self._format_index])

    def complete(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int, schema: Mapping[str, Any] | None
    ) -> Completion:
        """One answer; malformed bodies are retried, and unsupported response formats stepped down."""
        attempts = malformed = 0
        while True:
            response_format = self._response_format(schema)
            probing = response_format is not None and not self._format_confirmed
            try:
                raw, attempts_taken = self._create(messages, max_tokens, response_format, probing)
                attempts += attempts_taken
                if probing:
                    self._remember()
                parsed = _parse(raw)
                return self._completion(parsed, attempts, _FORMATS[self._format_index] if schema else "text")
            except openai.APIStatusError as exc:
                if response_format is not None and _about_response_format(exc):
                    self._step_down()  # remembered for every later call to this server
                    continue
                if probing and (exc.status_code in (408, 409, 429) or exc.status_code >= 500):
                    self._format_confirmed = True  # a plain transient failure: retry it with backoff
                    attempts += 1
                    continue
                raise _translate(exc) from None
            except openai.APIConnectionError as exc:
                if probing:
                    self._format_confirmed = True
                    attempts += 1
                    continue
                raise _translate(exc) from None
            except (json.JSONDecodeError, openai.APIResponseValidationError, Malformed) as exc:
                # Only a body that is not a chat completion: a bug in lessongen is not retried.
                malformed += 1
                if malformed > self._malformed_retries:
                    what = str(exc) if isinstance(exc, Malformed) else "a body that is not valid JSON"
                    raise ModelError(
                        f"the server at {self.where} returned malformed responses {malformed} times ({what})",
                        "check the server, then rerun with --resume",
                    ) from None
                self._pause(min(0.25 * 2.0 ** (malformed - 1), 4.0))
            except openai.OpenAIError as exc:
                raise _translate(exc) from None

    def _create(
        self,
        messages: Sequence[Mapping[str, str]],
        max_tokens: int,
        response_format: dict[str, Any] | None,
        probing: bool,
    ) -> tuple[Any, int]:
        extra: dict[str, Any] = {}
        if response_format is not None:
            extra["response_format"] = response_format
        if self._official:
            extra["max_completion_tokens"] = max_tokens
        else:
            extra["max_tokens"] = max_tokens
        # The first request with a new response format is not retried: a server that rejects the
        # format (some answer 500) is asked with the next one at once instead of after five backoffs.
        client = self._client.with_options(max_retries=0) if probing else self._client
        raw = client.chat.completions.with_raw_response.create(
            model=self._model,
            messages=[{"role": m["role"], "content": m["content"]} for m in messages],  # type: ignore[misc]
            **extra,
        )
        return raw, 1 + int(getattr(raw, "retries_taken", 0))

    @staticmethod
    def _completion(response: Any, attempts: int, response_format: str) -> Completion:
        """The answer from what the SDK built; it builds objects without validating, so check each part."""
        if isinstance(response, str):  # the SDK hands back a body that is not JSON as text
            raise Malformed(_not_json(response))
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise Malformed("no choices")
        message = getattr(choices[0], "message", None)
        if message is None:
            raise Malformed("a choice without a message")
        content = getattr(message, "content", None)
        if content is not None and not isinstance(content, str):
            raise Malformed("message content that is not text")
        # A lone surrogate escape is valid JSON but not text; replace it so the answer can be saved.
        text = (content or "").encode("utf-8", "replace").decode("utf-8")
        finish = getattr(choices[0], "finish_reason", None)
        finish_reason = finish if isinstance(finish, str) and finish else "stop"
        return Completion(
            text, finish_reason, _usage(getattr(response, "usage", None)), attempts, response_format
        )


class Malformed(Exception):
    """The server's body is not a chat completion; the message says what it is instead."""


def _parse(raw: Any) -> Any:
    """The SDK's object for a raw response; a body nested too deeply is Malformed, not RecursionError."""
    try:
        return raw.parse()
    except RecursionError:
        raise Malformed("a JSON body nested too deeply") from None


def _not_json(body: str) -> str:
    head = body.lstrip()[:200].lower()
    if head.startswith(("data:", "event:", ":")):
        return "an event stream that was not asked for"
    if head.startswith("<"):
        return "an HTML page instead of JSON"
    return "a body that is not JSON"


def _tokens(value: object) -> int | None:
    """A token count from the server's usage, or None when it is not a whole finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        return None
    return int(value)


def _usage(reported: Any) -> Usage | None:
    """Usage as reported, or None when the counts are missing or not numbers (ours are used then)."""
    if reported is None:
        return None
    prompt, completion = (
        _tokens(getattr(reported, "prompt_tokens", None)),
        _tokens(getattr(reported, "completion_tokens", None)),
    )
    if prompt is None or completion is None:
        return None
    details = getattr(reported, "prompt_tokens_details", None)
    return Usage(prompt, completion, _tokens(getattr(details, "cached_tokens", 0)) or 0)


def _about_response_format(exc: openai.APIStatusError) -> bool:
    if exc.status_code not in (400, 422, 500, 501):
        return False
    text = f"{exc.message} {getattr(exc, 'param', '')} {exc.body}".lower()
    return "response_format" in text or "json_schema" in text or "json_object" in text or "structured" in text


# SDK errors, most specific first, with what the user sees and what to do next.
_ERRORS: tuple[tuple[type[openai.OpenAIError], str, str], ...] = (
    (openai.AuthenticationError, "the server rejected the API key (401)", "check OPENAI_API_KEY, then rerun with --resume"),
    (openai.NotFoundError, "the server does not know this model or endpoint (404)", "check --model and --base-url"),
    (openai.APITimeoutError, "the server did not answer in time, even after retries", "rerun with --resume, or raise timeout"),
    (openai.APIConnectionError, "cannot reach the model server", "check --base-url and the network, then rerun with --resume"),
    (openai.RateLimitError, "rate limited (429) even after retries", "wait, then rerun with --resume"),
)  # fmt: skip


def _translate(exc: openai.OpenAIError) -> Exception:
    """A one-line lessongen error for an SDK error; never includes the API key."""
    if isinstance(exc, openai.BadRequestError) and exc.code == "context_length_exceeded":
        return DoesNotFitError(
            "the server refused the prompt as longer than the model's context window",
            "set --context-window to the server's real window (or pass --refresh), then rerun with --resume",
        )
    for kind, message, hint in _ERRORS:
        if isinstance(exc, kind):
            return ModelError(message, hint)
    if isinstance(exc, openai.APIStatusError):
        return ModelError(
            f"the server answered {exc.status_code}: {_short(exc.message)}",
            "rerun with --resume once it is fixed",
        )
    return ModelError(f"the model call failed: {_short(str(exc))}", "rerun with --resume")


def _short(text: str, limit: int = 160) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _without(schema: Any, keyword: str) -> Any:
    """A JSON schema with one keyword removed at every level."""
    if isinstance(schema, dict):
        return {k: _without(v, keyword) for k, v in schema.items() if k != keyword}
    if isinstance(schema, list):
        return [_without(v, keyword) for v in schema]
    return schema
