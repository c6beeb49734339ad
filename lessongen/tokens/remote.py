"""Exact token counts from the model server's own tokenizer, where the server offers one.

One probe finds which documented endpoint answers, tried in this order:
    vLLM              POST /tokenize         {"model", "prompt"} -> {"count", "tokens"}
    llama.cpp server  POST /tokenize         {"content"}         -> {"tokens"}
    llama-cpp-python  POST /extras/tokenize  {"input", "model"}  -> {"tokens"}
Any tokens the server adds to every text (a BOS token, say) are counted on the empty text and subtracted.

Chat framing. A chat template adds tokens around each message and once per prompt, so
    prompt tokens of a chat = sum(count(content)) + per_message * len(messages) + fixed,
and ChatOverhead holds (per_message, fixed). RemoteCounter.chat_overhead() measures it with the
server's own template where the server can apply one (vLLM, llama.cpp). Otherwise fit_overhead()
fits it to the prompt_tokens the server reports in usage, and never undercounts a chat it has seen.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from lessongen.config.fields import Secret
from lessongen.errors import ModelError
from lessongen.shared.http_json import JsonClient, Unreachable
from lessongen.tokens.counter import Counter

# Code, accents, CJK and digits: different tokenizers split this differently, so its token ids
# fingerprint the tokenizer (the token cache keys counts by encoding_name).
_PROBE_TEXT = 'def greet(name):\n    return f"héllo, {name}!"  # 世界 0123456789\n'
# Two chats of different lengths with the roles lessongen sends, for measuring template overhead.
_SAMPLE_CHATS = (
    (("system", "You explain code."), ("user", "Explain this file.")),
    (
        ("system", "You explain code."),
        ("user", "Explain this file."),
        ("assistant", "It adds two numbers."),
        ("user", "And this one?"),
        ("assistant", "It multiplies them."),
        ("user", "Summarize both."),
    ),
)


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


@dataclass(frozen=True)
class ChatOverhead:
    """Prompt tokens of a chat beyond its contents: per_message for each message, plus fixed once."""

    per_message: int
    fixed: int
    source: str = "reported usage"

    def prompt_tokens(self, content_tokens: Sequence[int]) -> int:
        """Prompt tokens of a chat whose message contents count content_tokens."""
        return sum(content_tokens) + self.per_message * len(content_tokens) + self.fixed


@dataclass(frozen=True)
class Observation:
    """One chat as sent: its counted contents, its message count and the server's prompt_tokens."""

    content_tokens: int
    messages: int
    prompt_tokens: int


def fit_overhead(observations: Sequence[Observation], source: str = "reported usage") -> ChatOverhead | None:
    """The overhead that fits the observations, raised so that it undercounts none of them.

    With two or more message counts, per_message is the least-squares slope; with one, the whole
    excess is spread over the messages. fixed then covers the largest remaining excess.
    """
    seen = [o for o in observations if o.messages > 0]
    if not seen:
        return None
    excess = [o.prompt_tokens - o.content_tokens for o in seen]
    counts = [o.messages for o in seen]
    if len(set(counts)) > 1:
        mean_n, mean_e = sum(counts) / len(counts), sum(excess) / len(excess)
        spread = sum((n - mean_n) ** 2 for n in counts)
        slope = sum((n - mean_n) * (e - mean_e) for n, e in zip(counts, excess, strict=True)) / spread
        per_message = max(0, round(slope))
    else:
        per_message = max(0, math.ceil(max(excess) / counts[0]))
    fixed = max(0, *(e - per_message * n for e, n in zip(excess, counts, strict=True)))
    return ChatOverhead(per_message, fixed, source)


def observe(
    counter: Counter, messages: Sequence[Mapping[str, str]], reported_prompt_tokens: int
) -> Observation:
    """An Observation of a chat the server answered, for fit_overhead."""
    contents = counter.count_many([m.get("content", "") for m in messages])
    return Observation(sum(contents), len(messages), reported_prompt_tokens)


def calibrate(
    counter: Counter, messages: Sequence[Mapping[str, str]], reported_prompt_tokens: int
) -> ChatOverhead | None:
    """The overhead fitted to one chat and the prompt_tokens the server reported for it."""
    return fit_overhead([observe(counter, messages, reported_prompt_tokens)])


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

    def _chat_tokens(self, messages: list[dict[str, str]]) -> int | None:
        if self.kind == "vllm":
            body = {"model": self._model, "messages": messages, "add_generation_prompt": True}
            answer = self._client.post("/tokenize", body)
            count = answer.get("count") if isinstance(answer, dict) else None
            return count if isinstance(count, int) and not isinstance(count, bool) else None
        if self.kind == "llama.cpp":
            answer = self._client.post("/apply-template", {"messages": messages})
            prompt = answer.get("prompt") if isinstance(answer, dict) else None
            if not isinstance(prompt, str):
                return None
            ids = _ids(self._client.post("/tokenize", {"content": prompt, "add_special": True}), self.kind)
            return None if ids is None else len(ids)
        return None

    def chat_overhead(self) -> ChatOverhead | None:
        """The overhead measured with the server's chat template, or None where it cannot apply one."""
        observations = []
        for chat in _SAMPLE_CHATS:
            messages = [{"role": role, "content": content} for role, content in chat]
            try:
                total = self._chat_tokens(messages)
            except Unreachable:
                return None
            if total is None:
                return None
            observations.append(observe(self, messages, total))
        return fit_overhead(observations, f"{self.kind} chat template")


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
