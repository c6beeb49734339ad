"""Exact token counts from the model server's own tokenizer, where the server offers one.

One probe finds which documented endpoint answers, tried in this order:
    vLLM              POST /tokenize         {"model", "prompt"} -> {"count", "tokens"}
    llama.cpp server  POST /tokenize         {"content"}         -> {"tokens"}
    llama-cpp-python  POST /extras/tokenize  {"input", "model"}  -> {"tokens"}
Any tokens the server adds to every text (a BOS token, say) are counted on the empty text and subtracted.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lessongen.config.fields import Secret
from lessongen.errors import ModelError
from lessongen.shared.http_json import JsonClient, Unreachable
from lessongen.tokens.counter import TEMPLATE_ALLOWANCE

# Code, accents, CJK and digits: different tokenizers split this differently, so its token ids
# fingerprint the tokenizer (the token cache keys counts by encoding_name).
_PROBE_TEXT = 'def greet(name):\n    return f"héllo, {name}!"  # 世界 0123456789\n'


@dataclass(frozen=True)
class _Endpoint:
    kind: str
    path: str

    def body(self, text: str, model: str) -> dict[str, Any]:
        if self.kind == "vllm":
            return {"model": model, "prompt": text, "add_special_tokens": False}
        if self.kind == "llama.cpp":
            return {"content": text, "add_special": False}
        return {"input": text, "model": model}


_ENDPOINTS = (
    _Endpoint("vllm", "/tokenize"),
    _Endpoint("llama.cpp", "/tokenize"),
    _Endpoint("llama-cpp-python", "/extras/tokenize"),
)


def _ids(answer: Any, kind: str) -> list[int] | None:
    if not isinstance(answer, dict) or not isinstance(answer.get("tokens"), list):
        return None
    if kind == "vllm" and not isinstance(answer.get("count"), int):
        return None  # llama.cpp answers a body without "content" with an empty token list, never a count
    ids: list[Any] = [t.get("id") if isinstance(t, dict) else t for t in answer["tokens"]]  # with_pieces
    return ids if all(isinstance(i, int) and not isinstance(i, bool) for i in ids) else None


class RemoteCounter:
    """Counts text with the server's tokenizer; a lessongen.tokens.counter.Counter."""

    def __init__(
        self,
        client: JsonClient,
        endpoint: _Endpoint,
        model: str,
        added: int,
        fingerprint: str,
        threads: int = 4,
    ) -> None:
        self._client = client
        self._endpoint = endpoint
        self._model = model
        self._added = added
        self._fingerprint = fingerprint
        self._threads = threads

    @property
    def kind(self) -> str:
        """Which server's tokenizer: "vllm", "llama.cpp" or "llama-cpp-python"."""
        return self._endpoint.kind

    @property
    def encoding_name(self) -> str:
        return f"server:{self._endpoint.kind}:{self._fingerprint}"

    line_additive = False  # the server's tokenizer may join tokens across any line end
    framing = TEMPLATE_ALLOWANCE
    process_safe = False

    @property
    def threads(self) -> int:
        """How many requests count at once."""
        return self._threads

    def _tokenize(self, text: str) -> list[int]:
        for _ in range(2):  # one retry: a busy local server may drop a request
            try:
                answer = self._client.post(self._endpoint.path, self._endpoint.body(text, self._model))
            except Unreachable:
                continue
            if (ids := _ids(answer, self._endpoint.kind)) is not None:
                return ids
        raise ModelError(
            f"the tokenizer at {self._client.root} stopped answering", "check the server, then run again"
        )

    def count(self, text: str) -> int:
        """Tokens in a text, without the ones the server adds to every text."""
        return max(0, len(self._tokenize(text)) - self._added) if text else 0

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Tokens in many texts, a few requests at a time."""
        if len(texts) < 2 or self._threads < 2:
            return [self.count(t) for t in texts]
        with ThreadPoolExecutor(self._threads) as pool:
            return list(pool.map(self.count, texts))


def probe_tokenizer(
    base_url: str,
    model: str,
    api_key: Secret | str | None = None,
    timeout: float = 3.0,
    count_timeout: float = 60.0,
) -> RemoteCounter | None:
    """A counter using the server's tokenizer, or None when the server offers none of the endpoints."""
    client = JsonClient(base_url, api_key, timeout)
    try:
        for endpoint in _ENDPOINTS:
            ids = _ids(client.post(endpoint.path, endpoint.body(_PROBE_TEXT, model)), endpoint.kind)
            if not ids:
                continue
            added = len(_ids(client.post(endpoint.path, endpoint.body("", model)), endpoint.kind) or [])
            fingerprint = hashlib.sha256(json.dumps(ids).encode()).hexdigest()[:12]
            counting = JsonClient(base_url, api_key, count_timeout)
            return RemoteCounter(counting, endpoint, model, added, fingerprint)
    except Unreachable:
        return None
    return None
