"""Tiny stand-ins for self-hosted model servers on 127.0.0.1, answering with each documented shape.

Stdlib only. Each server is a context manager that binds a free port, serves from a thread and joins
every handler thread when it stops (the plumbing is fake_http.py). Requests are recorded without the Authorization value: only
whether one came and whether it was the expected Bearer key.

The fake tokenizer splits text into chat markers such as <|im_start|>, words, single punctuation
marks and runs of whitespace, so tests can predict counts with `fake_tokens`. The fake chat template
is ChatML: per message <|im_start|>{role}\\n{content}<|im_end|>\\n (5 tokens around the content),
then <|im_start|>assistant\\n (3 tokens).
"""

from __future__ import annotations

import json
import re
import socket
import threading
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from fake_http import Answer, Drop, LocalHTTP

_TOKEN = re.compile(r"<\|[a-z_]+\|>|\w+|[^\w\s]|\s+")
BOS = 1
PER_MESSAGE = 5
GENERATION_PROMPT = 3

# A route answers (status, payload): a payload that is not bytes is sent as JSON.
Reply = tuple[int, Any]
Route = Callable[[Any], Reply]


def fake_tokens(text: str, seed: int = 0) -> list[int]:
    """The fake tokenizer: one id per marker, word, punctuation mark or whitespace run."""
    return [zlib.crc32(f"{seed}:{piece}".encode()) % 50_000 + 2 for piece in _TOKEN.findall(text)]


def chatml(messages: Sequence[Mapping[str, str]]) -> str:
    """The fake chat template applied to messages, with the generation prompt."""
    turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
    return turns + "<|im_start|>assistant\n"


@dataclass(frozen=True)
class Seen:
    """One request as received; the Authorization value itself is never kept."""

    method: str
    path: str
    body: Any
    had_auth: bool
    auth_ok: bool  # the header was exactly "Bearer <expected key>"


@dataclass
class LocalServer:
    """A fake server: routes keyed by (method, path); anything else is a JSON 404."""

    routes: dict[tuple[str, str], Route]
    api_key: str | None = None  # the key a request should carry, to set auth_ok
    raw_answer: bytes | None = None  # when set, every request gets this body with status 200
    delay: float = 0.0  # seconds to wait before answering (ended early when the server stops)
    redirect_to: str | None = None  # when set, every request is redirected here (302)
    drop: Drop | None = None  # when set, every connection is closed without an answer
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    _http: LocalHTTP = field(init=False)

    def __post_init__(self) -> None:
        self._http = LocalHTTP(self.answer, "fake-local-server")

    @property
    def errors(self) -> list[BaseException]:
        """Failures inside the fake itself."""
        return self._http.errors

    @property
    def root(self) -> str:
        """http://127.0.0.1:PORT, the server's root."""
        return self._http.root

    @property
    def base_url(self) -> str:
        """The OpenAI-style base_url, root + /v1."""
        return self.root + "/v1"

    @property
    def paths(self) -> list[str]:
        """The paths asked for, in order."""
        with self.lock:
            return [s.path for s in self.seen]

    def __enter__(self) -> LocalServer:
        self._http.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._http.stop()
        if kind is None:
            self._http.raise_errors()

    def answer(self, method: str, path: str, headers: Mapping[str, str], raw: bytes) -> Answer:
        """Record a request and decide its answer."""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        auth = headers.get("authorization")
        ok = auth is not None and self.api_key is not None and auth == f"Bearer {self.api_key}"
        with self.lock:
            self.seen.append(Seen(method, path, body, auth is not None, ok))
        if self.drop is not None:
            return Answer(drop=self.drop)
        if self.redirect_to is not None:
            return Answer(302, headers={"Location": self.redirect_to + path}, delay=self.delay)
        if self.raw_answer is not None:
            return Answer(200, self.raw_answer, delay=self.delay)
        route = self.routes.get((method, path))
        status, payload = route(body) if route else (404, {"error": f"no route {method} {path}"})
        encoded = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return Answer(status, encoded, delay=self.delay)


def closed_port_url() -> str:
    """A base_url on 127.0.0.1 where nothing listens: connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def _model_list(ids: Sequence[str], extra: Callable[[str], dict[str, Any]] = lambda _: {}) -> Route:
    data = [{"id": i, "object": "model", "created": 0, "owned_by": "fake", **extra(i)} for i in ids]
    return lambda _body: (200, {"object": "list", "data": data})


# ---- Ollama ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OllamaModel:
    """A model Ollama has pulled: architecture, trained length, Modelfile num_ctx, loaded window."""

    arch: str = "llama"
    trained: int | None = 131072
    num_ctx: int | None = None
    loaded_window: int | None = None  # /api/ps context_length when the model is loaded


def ollama_server(models: Mapping[str, OllamaModel], version: str = "0.12.6", **options: Any) -> LocalServer:
    """Ollama: /api/show, /api/ps, /api/version and /v1/models; names may omit ':latest'."""
    full = {name if ":" in name else f"{name}:latest": m for name, m in models.items()}

    def show(body: Any) -> Reply:
        name = str((body or {}).get("model", ""))
        model = full.get(name if ":" in name else f"{name}:latest")
        if model is None:
            return 404, {"error": f"model '{name}' not found"}
        parameters = 'stop                           "<|eot_id|>"'
        if model.num_ctx is not None:
            parameters = f"num_ctx                        {model.num_ctx}\n" + parameters
        info: dict[str, Any] = {"general.architecture": model.arch, "general.parameter_count": 8030261248}
        if model.trained is not None:
            info[f"{model.arch}.context_length"] = model.trained
        return 200, {
            "modelfile": '# Modelfile generated by "ollama show"\nFROM /models/blobs/sha256-00\n',
            "parameters": parameters,
            "template": "{{ .Prompt }}",
            "details": {"format": "gguf", "family": model.arch, "parameter_size": "8.0B"},
            "model_info": info,
            "capabilities": ["completion"],
        }

    def ps(_body: Any) -> Reply:
        loaded = [
            {"name": n, "model": n, "size": 1, "size_vram": 1, "context_length": m.loaded_window}
            for n, m in full.items()
            if m.loaded_window is not None
        ]
        return 200, {"models": loaded}

    routes: dict[tuple[str, str], Route] = {
        ("POST", "/api/show"): show,
        ("GET", "/api/ps"): ps,
        ("GET", "/api/version"): lambda _b: (200, {"version": version}),
        ("GET", "/v1/models"): _model_list(list(full), lambda _i: {"owned_by": "library"}),
    }
    return LocalServer(routes, **options)


# ---- llama.cpp and llama-cpp-python ---------------------------------------------------------------


def llama_cpp_server(
    n_ctx: int | None = 8192,
    top_level_n_ctx: int | None = None,
    model_id: str = "qwen2.5-7b-instruct-q4_k_m.gguf",
    seed: int = 0,
    **options: Any,
) -> LocalServer:
    """llama.cpp's llama-server: /props, /tokenize, /apply-template and /v1/models."""
    props: dict[str, Any] = {"total_slots": 1, "model_path": f"/models/{model_id}", "chat_template": "..."}
    props["default_generation_settings"] = {"id": 0, "params": {"n_predict": -1}}
    if n_ctx is not None:
        props["default_generation_settings"]["n_ctx"] = n_ctx
    if top_level_n_ctx is not None:
        props["n_ctx"] = top_level_n_ctx

    def tokenize(body: Any) -> Reply:
        if not isinstance(body, dict) or "content" not in body:
            return 200, {"tokens": []}  # what llama-server answers to a body without "content"
        ids = fake_tokens(str(body["content"]), seed)
        return 200, {"tokens": ([BOS] if body.get("add_special") else []) + ids}

    def apply_template(body: Any) -> Reply:
        return 200, {"prompt": chatml((body or {}).get("messages") or [])}

    routes: dict[tuple[str, str], Route] = {
        ("GET", "/props"): lambda _b: (200, props),
        ("POST", "/tokenize"): tokenize,
        ("POST", "/apply-template"): apply_template,
        ("GET", "/v1/models"): _model_list(
            [model_id], lambda _i: {"owned_by": "llamacpp", "meta": {"n_ctx_train": 32768}}
        ),
    }
    return LocalServer(routes, **options)


def llama_cpp_python_server(model_id: str = "local-model", seed: int = 0, **options: Any) -> LocalServer:
    """llama-cpp-python's server: /extras/tokenize (with a BOS token on every text) and /v1/models."""

    def tokenize(body: Any) -> Reply:
        if not isinstance(body, dict) or not isinstance(body.get("input"), str):
            return 422, {"detail": [{"loc": ["body", "input"], "msg": "field required"}]}
        return 200, {"tokens": [BOS, *fake_tokens(body["input"], seed)]}

    routes: dict[tuple[str, str], Route] = {
        ("POST", "/extras/tokenize"): tokenize,
        ("GET", "/v1/models"): _model_list([model_id]),
    }
    return LocalServer(routes, **options)


# ---- vLLM -----------------------------------------------------------------------------------------


def vllm_server(models: Mapping[str, int], seed: int = 0, **options: Any) -> LocalServer:
    """vLLM: /v1/models with max_model_len and /tokenize for prompts and chats (messages)."""

    def tokenize(body: Any) -> Reply:
        if not isinstance(body, dict) or body.get("model") not in models:
            return 404, {"object": "error", "message": "The model does not exist.", "code": 404}
        if isinstance(body.get("messages"), list):
            ids = fake_tokens(chatml(body["messages"]), seed)
        elif isinstance(body.get("prompt"), str):
            special = [BOS] if body.get("add_special_tokens", True) else []
            ids = special + fake_tokens(body["prompt"], seed)
        else:
            return 400, {"object": "error", "message": "prompt: Field required", "code": 400}
        return 200, {"count": len(ids), "max_model_len": models[body["model"]], "tokens": ids}

    routes: dict[tuple[str, str], Route] = {
        ("GET", "/v1/models"): _model_list(
            list(models), lambda i: {"owned_by": "vllm", "root": i, "max_model_len": models[i]}
        ),
        ("POST", "/tokenize"): tokenize,
    }
    return LocalServer(routes, **options)


# ---- LM Studio ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LMStudioModel:
    """A model LM Studio has downloaded; loaded_window is None when it is not loaded."""

    id: str
    max_window: int = 32768
    loaded_window: int | None = None


def lmstudio_server(models: Sequence[LMStudioModel], v1_only: bool = False, **options: Any) -> LocalServer:
    """LM Studio: /api/v0/models (or only 0.4's /api/v1/models) and /v1/models."""

    def v0(_body: Any) -> Reply:
        data = []
        for m in models:
            entry: dict[str, Any] = {"id": m.id, "object": "model", "type": "llm", "arch": "qwen2"}
            entry |= {
                "state": "loaded" if m.loaded_window else "not-loaded",
                "max_context_length": m.max_window,
            }
            if m.loaded_window:
                entry["loaded_context_length"] = m.loaded_window
            data.append(entry)
        return 200, {"object": "list", "data": data}

    def v1(_body: Any) -> Reply:
        listed = []
        for m in models:
            instances = (
                [{"id": m.id, "config": {"context_length": m.loaded_window}}] if m.loaded_window else []
            )
            listed.append(
                {
                    "type": "llm",
                    "key": m.id,
                    "max_context_length": m.max_window,
                    "loaded_instances": instances,
                }
            )
        return 200, {"models": listed}

    routes: dict[tuple[str, str], Route] = {
        ("GET", "/api/v1/models"): v1,
        ("GET", "/v1/models"): _model_list(
            [m.id for m in models], lambda _i: {"owned_by": "organization_owner"}
        ),
    }
    if not v1_only:
        routes["GET", "/api/v0/models"] = v0
    return LocalServer(routes, **options)


# ---- misbehaving servers --------------------------------------------------------------------------


def not_found_server(**options: Any) -> LocalServer:
    """Answers every request with a JSON 404."""
    return LocalServer({}, **options)


def malformed_server(**options: Any) -> LocalServer:
    """Answers every request with status 200 and a JSON body cut short."""
    return LocalServer({}, raw_answer=b'{"data": [{"id": "m", "max_model_len": 40', **options)


def reset_server(**options: Any) -> LocalServer:
    """Accepts every connection and resets it (RST) without an answer."""
    return LocalServer({}, drop=Drop.RESET, **options)
