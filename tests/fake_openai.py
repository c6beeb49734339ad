"""A fake OpenAI-compatible chat server on 127.0.0.1, for driving the real `openai` client in tests.

Stdlib only (the HTTP plumbing is fake_http.py), plus lessongen's token counter, so the usage it
reports is what lessongen predicts.
Replies come from a responder (by default a scene chapter about the files of the last user message),
faults are scripted per chat call, and every request is recorded without its credentials.
"""

from __future__ import annotations

import html
import json
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from fake_http import Answer, Drop, LocalHTTP

from lessongen.tokens.counter import (
    REPLY_PRIMING,
    TOKENS_PER_NAME,
    TokenCounter,
    count_chat,
    encoding_name_for_model,
    load_encoding,
)

CHAT_PATH = "/v1/chat/completions"
MODELS_PATH = "/v1/models"
_SECRET_HEADERS = ("authorization", "api-key")

# Stand-ins for the chat format's special tokens (never valid ids), so message boundaries count.
_START, _SEP, _END, _NAME, _REPLY = -1, -2, -3, -4, -5


@dataclass(frozen=True)
class Reply:
    """What the scripted model answers."""

    content: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Fault:
    """A scripted misbehaviour for one chat call; build it with the class methods."""

    kind: str
    retry_after: str | None = None  # the Retry-After header in seconds; "0.1" is fine
    delay: float = 0.0  # "timeout": seconds to wait before answering; "trickle*": seconds per byte
    size: int = 0  # "oversized": reply characters; "deep_json" / "deep_body": depth; "trickle_headers": bytes
    usage: tuple[int, int, int] | None = None  # "usage": the prompt, cached and completion tokens reported

    @classmethod
    def rate_limited(cls, retry_after: str | None = "0.1") -> Fault:
        """HTTP 429 rate_limit_exceeded with a Retry-After header."""
        return cls("rate_limited", retry_after)

    @classmethod
    def server_error(cls) -> Fault:
        """HTTP 500."""
        return cls("server_error")

    @classmethod
    def unavailable(cls, retry_after: str | None = None) -> Fault:
        """HTTP 503, optionally with Retry-After."""
        return cls("unavailable", retry_after)

    @classmethod
    def reset(cls) -> Fault:
        """The connection is reset (RST) without a response."""
        return cls("reset")

    @classmethod
    def disconnect(cls) -> Fault:
        """The connection is closed (FIN) without a response."""
        return cls("disconnect")

    @classmethod
    def timeout(cls, delay: float = 2.0) -> Fault:
        """The normal answer, sent only after `delay` seconds: give the client a shorter timeout."""
        return cls("timeout", delay=delay)

    @classmethod
    def malformed(cls) -> Fault:
        """HTTP 200 with a JSON content type and the body cut in half."""
        return cls("malformed")

    @classmethod
    def truncated(cls) -> Fault:
        """The reply cut to half its tokens, with finish_reason "length"."""
        return cls("truncated")

    @classmethod
    def context_exceeded(cls) -> Fault:
        """HTTP 400 context_length_exceeded whatever the prompt's size."""
        return cls("context_exceeded")

    # Malformed responses: HTTP 200, but not a usable chat completion.
    @classmethod
    def no_choices(cls) -> Fault:
        """A completion whose `choices` is an empty list."""
        return cls("no_choices")

    @classmethod
    def null_message(cls) -> Fault:
        """A completion whose first choice has `message: null`."""
        return cls("null_message")

    @classmethod
    def html(cls) -> Fault:
        """An HTML page with Content-Type text/html, as a proxy's error page."""
        return cls("html")

    @classmethod
    def event_stream(cls) -> Fault:
        """A server-sent event stream (the completion in chunks) though no stream was asked for."""
        return cls("event_stream")

    @classmethod
    def deep_body(cls, depth: int = 100_000) -> Fault:
        """A JSON body nested `depth` levels deep."""
        return cls("deep_body", size=depth)

    @classmethod
    def trickle(cls, seconds_per_byte: float = 0.2) -> Fault:
        """The normal answer, its body sent one byte at a time: each read is quick, the whole is not."""
        return cls("trickle", delay=seconds_per_byte)

    @classmethod
    def trickle_headers(cls, seconds_per_byte: float = 0.2, length: int = 80) -> Fault:
        """The status line, then `length` bytes of a header that never ends, one at a time; then a hang-up."""
        return cls("trickle_headers", delay=seconds_per_byte, size=length)

    # Hostile replies: a well-formed completion whose text is a hostile chapter.
    @classmethod
    def oversized(cls, chars: int = 10_000_000) -> Fault:
        """The max tokens asked for ignored: a chapter whose narration makes it `chars` characters long."""
        return cls("oversized", size=chars)

    @classmethod
    def deep_json(cls, depth: int = 5000) -> Fault:
        """A chapter whose scenes nest `depth` lists deep."""
        return cls("deep_json", size=depth)

    @classmethod
    def huge_number(cls) -> Fault:
        """A chapter whose first anchor starts at line 1e999 (infinity as a float)."""
        return cls("huge_number")

    @classmethod
    def fenced_narration(cls) -> Fault:
        """A fenced JSON chapter whose narration itself holds a fenced code sample."""
        return cls("fenced_narration")

    @classmethod
    def negative_lines(cls) -> Fault:
        """A chapter whose anchors cover lines -5 to -1."""
        return cls("negative_lines")

    @classmethod
    def markup(cls) -> Fault:
        """A chapter whose titles, narration, notes and anchor paths carry HTML, headings, NUL and controls."""
        return cls("markup")

    @classmethod
    def bad_usage(cls, prompt: int, cached: int, completion: int) -> Fault:
        """The normal answer with these usage numbers reported instead of the true ones."""
        return cls("usage", usage=(prompt, cached, completion))


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it; the Authorization value is never kept."""

    call: int  # 1-based number among chat-completion requests; 0 for other paths
    method: str
    path: str
    headers: dict[str, str]  # lower-case names, without Authorization (nor Azure's api-key)
    had_auth: bool
    body: Any  # the parsed JSON body, or None
    prompt_tokens: int = 0
    cached_tokens: int = 0
    status: int | None = None  # None when the connection was dropped without a response
    fault: str | None = None  # the kind of the scripted fault applied to this call

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages sent."""
        return list(self.body.get("messages") or []) if isinstance(self.body, dict) else []

    @property
    def model(self) -> str:
        """The model named in the body."""
        return str(self.body.get("model", "")) if isinstance(self.body, dict) else ""


# ---- tokens -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Tokenizer:
    counter: TokenCounter
    encoding: Any  # a tiktoken.Encoding, reached only through lessongen.tokens.counter

    def encode(self, text: str) -> list[int]:
        return list(self.encoding.encode_ordinary(text))

    def truncate(self, text: str, tokens: int) -> str:
        """The text cut to at most `tokens` tokens."""
        ids = self.encode(text)
        for n in range(min(tokens, len(ids)), 0, -1):
            cut = str(self.encoding.decode(ids[:n]))
            if self.counter.count(cut) <= tokens:  # a cut inside a character can re-tokenize longer
                return cut
        return ""


def _tokenizer(model: str) -> _Tokenizer:
    return _Tokenizer(TokenCounter.for_model(model), load_encoding(encoding_name_for_model(model)))


def prompt_token_ids(encode: Callable[[str], list[int]], messages: Iterable[dict[str, Any]]) -> list[int]:
    """A chat rendered as one token list whose length equals lessongen.tokens.counter.count_chat.

    Each message is start, role, (name marker, name), separator, content, end; the reply priming
    at the end is never shared with a later message, so a chat extended by more messages shares
    exactly count_chat(chat) - REPLY_PRIMING tokens with it.
    """
    ids: list[int] = []
    for message in messages:
        ids += [_START, *encode(message["role"])]
        if message.get("name"):
            ids += [_NAME] * TOKENS_PER_NAME + encode(message["name"])
        ids += [_SEP, *encode(message.get("content") or ""), _END]
    return ids + [_REPLY] * REPLY_PRIMING


def cached_tokens(common_prefix: int) -> int:
    """OpenAI's prompt-cache rule: nothing below 1024 tokens, then whole 128-token steps."""
    return 0 if common_prefix < 1024 else 1024 + (common_prefix - 1024) // 128 * 128


def common_prefix(a: list[int], b: list[int]) -> int:
    """Length of the longest common prefix of two token lists."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:  # binary search on slice equality: C-speed comparisons even for long prompts
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


# ---- the default responder ----------------------------------------------------------------------

_FILE_TAG = re.compile(
    r'<file path="(?P<path>[^"]*)"(?P<attrs>[^>\n]*?) id="(?P<id>[^"]+)">\n(?P<body>.*?)</file id="(?P=id)">',
    re.DOTALL,
)
_LINES = re.compile(r'lines="(\d+)-(\d+)"')
_FILLER = " The presenter adds one more sentence of detail here."


def file_tags(text: str) -> list[tuple[str, int, int]]:
    """(path, first line, last line) of each file tag in a message; a part keeps its real line range."""
    found = []
    for match in _FILE_TAG.finditer(text):
        lines = _LINES.search(match["attrs"])
        first = int(lines[1]) if lines else 1
        found.append((html.unescape(match["path"]), first, first + match["body"].count("\n") - 1))
    return found


def _scene(sid: str, path: str, first: int, last: int) -> dict[str, Any]:
    anchors = [{"path": path, "start_line": first, "end_line": min(first + 4, last)}] if last >= first else []
    return {
        "id": sid,
        "title": f"Inside {path}",
        "narration": f"This scene walks through {path}, showing how it fits the rest of the project.",
        "anchors": anchors,
        "files": [path],
        "visual_notes": f"Show {path} with the anchored lines highlighted.",
    }


def _shared_scene(sid: str, tags: list[tuple[str, int, int]]) -> dict[str, Any]:
    """One scene about several files: anchors and files for each."""
    scene = _scene(sid, *tags[0])
    for tag in tags[1:]:
        other = _scene(sid, *tag)
        scene["anchors"] = [*scene["anchors"], *other["anchors"]]
        scene["files"] = [*scene["files"], *other["files"]]
    return scene


def _intro_scene(sid: str) -> dict[str, Any]:
    return {
        "id": sid,
        "title": "What this project is",
        "narration": "This chapter introduces the project, who it helps and how the lesson is organised.",
        "anchors": [],
        "files": [],
        "visual_notes": "A title card, then the repository's folder tree.",
    }


_SCENES_ASKED = re.compile(r"with (\d+)\s*scene")
_WORDS_ASKED = re.compile(r"at most about (\d+) words")


class ChapterResponder:
    """The default model: a valid chapter about the files in the last user message.

    A message without file tags gets plain text if it asks for a summary, an introduction chapter if
    it asks for one or no files were sent yet, and otherwise (a repair request) a chapter about the
    latest files sent. With `reply_tokens`, every reply is padded to about that many tokens. Like a
    model that follows its instructions, with `scene_tokens` a chapter has the scenes its request asks
    for ("with N scene(s)"), about `scene_tokens` each; `summary_tokens` and `intro_tokens` size those
    replies. With `summary_tokens_per_word`, a summary follows the word limit its request names.
    """

    def __init__(
        self,
        reply_tokens: int | None = None,
        scene_tokens: int | None = None,
        summary_tokens: int | None = None,
        intro_tokens: int | None = None,
        summary_tokens_per_word: float | None = None,
    ) -> None:
        self.summary_tokens_per_word = summary_tokens_per_word
        self.reply_tokens = reply_tokens
        self.scene_tokens = scene_tokens
        self.summary_tokens = summary_tokens or reply_tokens
        self.intro_tokens = intro_tokens or reply_tokens

    def __call__(self, request: RecordedRequest) -> Reply:
        users = [str(m.get("content") or "") for m in request.messages if m.get("role") == "user"]
        last = users[-1] if users else ""
        own = file_tags(last)
        tags = own or next((t for text in reversed(users) if (t := file_tags(text))), [])
        counter = TokenCounter.for_model(request.model)
        if not own and "summar" in last.lower():
            seen = ", ".join(dict.fromkeys(path for text in users for path, _, _ in file_tags(text)))
            words = _WORDS_ASKED.search(last)
            size = self.summary_tokens
            if self.summary_tokens_per_word and words:
                size = round(int(words.group(1)) * self.summary_tokens_per_word)
            return Reply(
                self._pad(counter, lambda extra: f"Summary so far. Files covered: {seen}.{extra}", size)
            )
        target = self.reply_tokens
        if (not own and "intro" in last.lower()) or not tags:
            title = "Introduction"
            scenes = [_intro_scene(f"c{request.call}s1")]
            target = self.intro_tokens
        else:
            title = "The code of " + ", ".join(dict.fromkeys(path for path, _, _ in tags))
            asked = _SCENES_ASKED.search(last)
            count = int(asked.group(1)) if asked and self.scene_tokens else len(tags)
            scenes = [
                _shared_scene(f"c{request.call}s{i + 1}", tags[i::count] or tags[:1]) for i in range(count)
            ]
            if self.scene_tokens:
                target = self.scene_tokens * count

        def build(extra: str) -> str:
            padded = {**scenes[-1], "narration": scenes[-1]["narration"] + extra}
            return json.dumps({"title": title, "scenes": [*scenes[:-1], padded]}, indent=1)

        return Reply(self._pad(counter, build, target))

    def _pad(self, counter: TokenCounter, build: Callable[[str], str], target: int | None) -> str:
        """build(extra) with filler text making it about `target` tokens long."""
        if not target:
            return build("")
        missing = target - counter.count(build(""))
        extra = _FILLER * max(0, missing // counter.count(_FILLER))
        while counter.count(build(extra)) < target:
            extra += " more"
        return build(extra)


# ---- answers ------------------------------------------------------------------------------------


def _error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None, **headers: str
) -> Answer:
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}}
    return Answer(status, json.dumps(body).encode(), {k.replace("_", "-"): v for k, v in headers.items()})


def _format_shape(body: dict[str, Any]) -> str:
    """The response_format a chat request asks for: json_schema, json_object+schema, json_object or text."""
    wanted = body.get("response_format") or {}
    kind = str(wanted.get("type", "text")) if isinstance(wanted, dict) else "text"
    return "json_object+schema" if kind == "json_object" and "schema" in wanted else kind


def _window_error(window: int, prompt: int, completion: int) -> Answer:
    message = (
        f"This model's maximum context length is {window} tokens. However, you requested "
        f"{prompt + completion} tokens ({prompt} in the messages, {completion} in the completion). "
        "Please reduce the length of the messages or completion."
    )
    return _error(400, message, "invalid_request_error", "context_length_exceeded", "messages")


def _fault_outcome(fault: Fault) -> Answer | None:
    """The answer of a fault that replaces the model's reply, or None for one that alters it."""
    wait = {"retry_after": fault.retry_after} if fault.retry_after is not None else {}
    if fault.kind == "rate_limited":
        message = f"Rate limit reached for requests. Please try again in {fault.retry_after or 1}s."
        return _error(429, message, "requests", "rate_limit_exceeded", **wait)
    if fault.kind == "server_error":
        return _error(500, "The server had an error while processing your request.", "server_error")
    if fault.kind == "unavailable":
        return _error(
            503, "The engine is currently overloaded, please try again later.", "server_error", **wait
        )
    if fault.kind in ("reset", "disconnect"):
        return Answer(drop=Drop(fault.kind))
    return None


MARKUP_TEXT = (
    "<script>alert(1)</script>\n# Injected heading\n<img src=x onerror=alert(1)> ![t](http://x/t.png)"
)
_HOSTILE_REPLIES = ("oversized", "deep_json", "huge_number", "fenced_narration", "negative_lines", "markup")


def _hostile_reply(fault: Fault, content: str) -> str:
    """The default chapter turned into the hostile chapter a reply fault asks for."""
    chapter = json.loads(content)
    scenes = chapter["scenes"]
    if fault.kind == "deep_json":
        return (
            json.dumps({"title": chapter["title"]})[:-1]
            + ', "scenes": '
            + "[" * fault.size
            + "]" * fault.size
            + "}"
        )
    if fault.kind == "oversized":
        scenes[0]["narration"] += " padding" * (fault.size // 8)
    for scene in scenes:
        for anchor in scene["anchors"]:
            if fault.kind == "negative_lines":
                anchor.update(start_line=-5, end_line=-1)
            elif fault.kind == "huge_number":
                anchor["start_line"] = "__1e999__"
            elif fault.kind == "markup":
                anchor["path"] += "\x00\n# not a path"
        if fault.kind == "fenced_narration":
            scene["narration"] += " Try it:\n```python\nprint(area(2, 3))\n```\nThen ``` closes nothing."
        elif fault.kind == "markup":
            scene["title"] += "\n# Injected title <b>bold</b>\x1b[31m"
            scene["narration"] = MARKUP_TEXT + "\n\n" + scene["narration"] + "\n---\n| a | b |"
            scene["visual_notes"] += "\n## Injected notes <iframe src=x>"
            scene["id"] += "`<u>id</u>\n"
    if fault.kind == "markup":
        chapter["title"] += "\n# Injected chapter </h2><script>x()</script>"
    text = json.dumps(chapter, indent=1)
    if fault.kind == "fenced_narration":
        return f"Here is the chapter:\n```json\n{text}\n```\nHope this helps."
    return text.replace('"__1e999__"', "1e999")


def _malformed_outcome(fault: Fault, payload: dict[str, Any]) -> Answer | None:
    """The HTTP 200 answer of a malformed-response fault, or None for other faults."""
    if fault.kind == "no_choices":
        return Answer(200, json.dumps({**payload, "choices": []}).encode())
    if fault.kind == "null_message":
        choice = {**payload["choices"][0], "message": None}
        return Answer(200, json.dumps({**payload, "choices": [choice]}).encode())
    if fault.kind == "html":
        page = b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>"
        return Answer(200, page, content_type="text/html")
    if fault.kind == "event_stream":
        message = payload["choices"][0]["message"]
        chunk = {**payload, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": message}]}
        events = f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n"
        return Answer(200, events.encode(), content_type="text/event-stream")
    if fault.kind == "deep_body":
        return Answer(200, b'{"choices": ' + b"[" * fault.size + b"]" * fault.size + b"}")
    return None


def _invalid_chat(body: Any) -> str:
    """Why a chat body is unusable, or "" when it is fine."""
    if not isinstance(body, dict):
        return "We could not parse the JSON body of your request."
    if not isinstance(body.get("model"), str):
        return "you must provide a model parameter"
    if body.get("stream"):
        return "the fake server does not stream"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "'messages' must be a non-empty array"
    for m in messages:
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            return "each message needs a string 'role'"
        if not isinstance(m.get("content") or "", str):
            return "the fake server takes only string message content"
    return ""


def _completion(call: int, model: str, reply: Reply, usage: tuple[int, int, int]) -> dict[str, Any]:
    prompt, cached, completion = usage
    message = {"role": "assistant", "content": reply.content, "refusal": None}
    return {
        "id": f"chatcmpl-fake{call:04d}",
        "object": "chat.completion",
        "created": 1_700_000_000 + call,  # deterministic, for golden files
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": reply.finish_reason}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        },
    }


# ---- the server ---------------------------------------------------------------------------------


class FakeServer:
    """An OpenAI-compatible chat server on 127.0.0.1; a context manager that starts and stops it."""

    def __init__(
        self,
        *,
        model: str = "gpt-4o-mini",
        context_window: int = 128_000,
        responder: Callable[[RecordedRequest], Reply] | None = None,
        faults: Iterable[Fault | None] = (),
        reject_formats: Iterable[str] = (),
        reject_status: int = 400,
    ) -> None:
        self.model = model  # the id GET /v1/models lists; chat requests may name any model
        self.context_window = context_window  # read per request, so a test may change it
        self.responder = responder or ChapterResponder()
        # response_format shapes this server refuses ("json_schema", "json_object+schema", "json_object"),
        # answered with reject_status as servers do (llama-cpp-python answers 500, others 400 or 422).
        self.reject_formats = frozenset(reject_formats)
        self.reject_status = reject_status
        self.lock = threading.Lock()
        self._faults: deque[Fault | None] = deque(faults)
        self._requests: list[RecordedRequest] = []
        self._prompts: list[list[int]] = []  # token lists of answered prompts: the prompt cache
        self._calls = 0
        self._http = LocalHTTP(self.handle, "fake-openai")

    @property
    def errors(self) -> list[BaseException]:
        """Failures inside the fake, e.g. a responder bug."""
        return self._http.errors

    @property
    def port(self) -> int:
        """The bound port; the server must be running."""
        return self._http.port

    @property
    def base_url(self) -> str:
        """The base_url to give the openai client."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request received, in arrival order."""
        with self.lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The chat-completion requests received, in arrival order."""
        return [r for r in self.requests if r.call]

    def script(self, *faults: Fault | None) -> None:
        """Queue faults for the next chat calls, one per call; None means answer normally."""
        with self.lock:
            self._faults.extend(faults)

    def start(self) -> FakeServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        self._http.start()
        return self

    def stop(self) -> None:
        """Stop serving, drop open connections (a delayed "timeout" answer too) and join every handler."""
        self._http.stop()

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        if kind is None:
            self._http.raise_errors()

    def handle(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> Answer:
        """Decide the answer to one request and record it (called from the handler threads)."""
        kept = {k: v for k, v in headers.items() if k not in _SECRET_HEADERS}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        route = path.split("?")[0].rstrip("/")
        record = RecordedRequest(0, method, path, kept, any(h in headers for h in _SECRET_HEADERS), body)
        if method == "POST" and route == CHAT_PATH:
            with self.lock:
                self._calls += 1
                record = replace(record, call=self._calls)
                fault = self._faults.popleft() if self._faults else None
            return self._chat(record, fault)
        if method == "GET" and route == MODELS_PATH:
            model = {"id": self.model, "object": "model", "created": 0, "owned_by": "fake-openai"}
            outcome = Answer(200, json.dumps({"object": "list", "data": [model]}).encode())
        else:
            outcome = _error(404, f"Unknown request URL: {method} {path}.", "invalid_request_error")
        self._record(replace(record, status=outcome.status))
        return outcome

    def _record(self, record: RecordedRequest, prompt: list[int] | None = None) -> None:
        with self.lock:
            self._requests.append(record)
            if prompt is not None:
                self._prompts.append(prompt)

    def _chat(self, record: RecordedRequest, fault: Fault | None) -> Answer:
        kind = fault.kind if fault else None
        record = replace(record, fault=kind)
        body = record.body
        if problem := _invalid_chat(body):
            self._record(replace(record, status=400))
            return _error(400, problem, "invalid_request_error", param="messages")
        if (shape := _format_shape(body)) in self.reject_formats:
            self._record(replace(record, status=self.reject_status))
            message = f"response_format type {shape!r} is not supported by this server"
            return _error(self.reject_status, message, "invalid_request_error", param="response_format")
        tokenizer = _tokenizer(body["model"])
        messages = [{**m, "content": m.get("content") or ""} for m in body["messages"]]
        prompt_tokens = count_chat(tokenizer.counter, messages)
        prompt = prompt_token_ids(tokenizer.encode, messages)
        with self.lock:
            earlier = list(self._prompts)
        cached = cached_tokens(max((common_prefix(prompt, p) for p in earlier), default=0))
        record = replace(record, prompt_tokens=prompt_tokens, cached_tokens=cached)
        limit = int(body.get("max_completion_tokens") or body.get("max_tokens") or 0)
        outcome = _fault_outcome(fault) if fault else None
        if outcome is None and (kind == "context_exceeded" or prompt_tokens + limit > self.context_window):
            outcome = _window_error(self.context_window, prompt_tokens, limit)
        if outcome is not None:
            self._record(replace(record, status=None if outcome.drop else outcome.status))
            return outcome
        reply = self.responder(replace(record, status=200))
        if fault and kind in _HOSTILE_REPLIES:
            reply = Reply(_hostile_reply(fault, reply.content), reply.finish_reason)
        if kind == "truncated":
            reply = Reply(
                tokenizer.truncate(reply.content, tokenizer.counter.count(reply.content) // 2), "length"
            )
        if kind == "oversized":  # the limit ignored; counting megabytes would only slow the test
            usage = (prompt_tokens, cached, len(reply.content) // 4)
        else:
            if limit and tokenizer.counter.count(reply.content) > limit:
                reply = Reply(tokenizer.truncate(reply.content, limit), "length")
            usage = (prompt_tokens, cached, tokenizer.counter.count(reply.content))
        if fault and fault.usage is not None:
            usage = fault.usage
        completion = _completion(record.call, body["model"], reply, usage)
        self._record(replace(record, status=200), prompt)
        if fault and (malformed := _malformed_outcome(fault, completion)):
            return malformed
        payload = json.dumps(completion).encode()
        if kind == "malformed":
            payload = payload[: len(payload) // 2]
        delay = fault.delay if fault and kind == "timeout" else 0.0
        trickle = fault.delay if fault and kind == "trickle" else 0.0
        slow_headers = fault.delay if fault and kind == "trickle_headers" else 0.0
        if fault and kind == "trickle_headers":
            payload = b"a" * fault.size  # sent as a header line that never ends
        return Answer(
            200,
            payload,
            {"x-request-id": f"req_fake{record.call:04d}"},
            delay,
            trickle=trickle,
            trickle_headers=slow_headers,
        )
