"""The context window a self-hosted server will really use, read from its documented endpoints.

Stdlib HTTP only, with short timeouts, no redirects and no proxies, so the API key goes as a Bearer
header to the given server and nowhere else. Unknown endpoints, HTTP errors and malformed answers are
silent misses. If the server cannot be reached, or does not answer in time, the search stops at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lessongen.config.fields import Secret
from lessongen.errors import ModelError
from lessongen.models.catalog import Window, WindowSource
from lessongen.models.prices import Prices
from lessongen.shared.cache import Cache
from lessongen.shared.http_json import JsonClient, Unreachable

# Ollama's window when num_ctx is not set: 4096 since v0.6.7 (VRAM-tiered, never smaller, since
# v0.15.5), 2048 before that. Raised by OLLAMA_CONTEXT_LENGTH, which no endpoint reports.
OLLAMA_DEFAULT_WINDOW = 4096
OLLAMA_OLD_DEFAULT_WINDOW = 2048
_OLLAMA_4096_SINCE = (0, 6, 7)


@dataclass(frozen=True)
class Discovered:
    """A window the server reported, where it came from, and any caveat to show the user."""

    window: int
    source: str  # e.g. "llama.cpp /props n_ctx"
    server: str = ""  # "ollama", "llama.cpp", "vllm" or "lmstudio"
    note: str = ""

    def as_window(self) -> Window:
        """The window with its provenance, for choose_window."""
        return Window(self.window, WindowSource.SERVER, self.source)


@dataclass(frozen=True)
class ModelListing:
    """One model a server offers, with its window when the server says it."""

    id: str
    window: int | None
    source: str
    note: str = ""
    prices: Prices | None = None  # USD per 1M tokens, where known


def _positive(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = int(value)
    except ValueError:
        return None
    return number if number > 0 else None


def _entries(answer: Any, key: str = "data") -> list[dict[str, Any]]:
    items = answer.get(key) if isinstance(answer, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _vllm(client: JsonClient, model: str) -> Discovered | None:
    for entry in _entries(client.get("/v1/models")):
        if entry.get("id") == model and (window := _positive(entry.get("max_model_len"))):
            return Discovered(window, "vLLM /v1/models max_model_len", "vllm")
    return None


def _llama_cpp(client: JsonClient, model: str) -> Discovered | None:
    props = client.get("/props")
    if not isinstance(props, dict):
        return None
    settings = props.get("default_generation_settings")
    per_slot = _positive(settings.get("n_ctx")) if isinstance(settings, dict) else None
    found = [n for n in (per_slot, _positive(props.get("n_ctx"))) if n]
    # A request gets one slot's share; when both are given the smaller one is that share.
    return Discovered(min(found), "llama.cpp /props n_ctx", "llama.cpp") if found else None


def _ollama_num_ctx(parameters: object) -> int | None:
    if isinstance(parameters, dict):
        return _positive(parameters.get("num_ctx"))
    for line in str(parameters or "").splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "num_ctx":
            return _positive(words[1])
    return None


def _ollama_default(client: JsonClient) -> int:
    answer = client.get("/api/version")
    text = str(answer.get("version", "")) if isinstance(answer, dict) else ""
    numbers = []
    for part in text.split("-")[0].split(".")[:3]:
        if not part.isdigit():
            return OLLAMA_OLD_DEFAULT_WINDOW
        numbers.append(int(part))
    new = len(numbers) == 3 and tuple(numbers) >= _OLLAMA_4096_SINCE
    return OLLAMA_DEFAULT_WINDOW if new else OLLAMA_OLD_DEFAULT_WINDOW


def _ollama(client: JsonClient, model: str) -> Discovered | None:
    show = client.post("/api/show", {"model": model}, remember=True)
    if not isinstance(show, dict) or not {"parameters", "model_info", "modelfile"} & show.keys():
        return None
    if num_ctx := _ollama_num_ctx(show.get("parameters")):
        return Discovered(num_ctx, "Ollama /api/show num_ctx", "ollama")
    names = {model, f"{model}:latest"}
    for entry in _entries(client.get("/api/ps"), "models"):
        if names & {entry.get("name"), entry.get("model")} and (
            loaded := _positive(entry.get("context_length"))
        ):
            note = "the window Ollama loaded the model with; set num_ctx to pin it"
            return Discovered(loaded, "Ollama /api/ps context_length", "ollama", note)
    raw_info = show.get("model_info")
    info: dict[str, Any] = raw_info if isinstance(raw_info, dict) else {}
    arch = info.get("general.architecture")
    trained = _positive(info.get(f"{arch}.context_length")) if isinstance(arch, str) else None
    default = _ollama_default(client)
    window = min(default, trained) if trained else default
    trained_text = f"the model was trained for {trained}, but " if trained and trained > window else ""
    note = (
        f"{trained_text}num_ctx is not set, so Ollama uses its default window; assuming {window}. "
        "Set num_ctx (or OLLAMA_CONTEXT_LENGTH) and pass --context-window to use more"
    )
    return Discovered(window, "Ollama default num_ctx", "ollama", note)


def _lmstudio(client: JsonClient, model: str) -> Discovered | None:
    for entry in _entries(client.get("/api/v0/models")):
        if entry.get("id") != model:
            continue
        if loaded := _positive(entry.get("loaded_context_length")):
            return Discovered(loaded, "LM Studio /api/v0/models loaded_context_length", "lmstudio")
        if maximum := _positive(entry.get("max_context_length")):
            note = "the model is not loaded, and LM Studio may load it with a smaller context length"
            return Discovered(maximum, "LM Studio /api/v0/models max_context_length", "lmstudio", note)
    for entry in _entries(client.get("/api/v1/models"), "models"):
        instances = [i for i in entry.get("loaded_instances") or () if isinstance(i, dict)]
        if entry.get("key") != model and model not in {i.get("id") for i in instances}:
            continue
        configs = [i.get("config") for i in instances]
        windows = [n for c in configs if isinstance(c, dict) and (n := _positive(c.get("context_length")))]
        if windows:
            return Discovered(min(windows), "LM Studio /api/v1/models context_length", "lmstudio")
    return None


# The OpenAI-style model list comes first: every server has it and list_models reads it anyway.
_PROBES: tuple[Callable[[JsonClient, str], Discovered | None], ...] = (_vllm, _llama_cpp, _ollama, _lmstudio)


def _search(client: JsonClient, model: str) -> Discovered | None:
    for probe in _PROBES:
        if found := probe(client, model):
            return found
    return None


@dataclass(frozen=True)
class CachedWindow:
    """A remembered search: what it found (None when the server did not say) and when it asked."""

    found: Discovered | None
    checked: float


MAX_WINDOWS = 1_000  # (server, model) pairs remembered


class DiscoveryCache:
    """(server root, model) -> discovery in the shared cache, for ttl_seconds; a broken file only disables it."""

    def __init__(
        self, path: Path | None, ttl_seconds: float = 86400.0, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = Cache(path, "discovery", MAX_WINDOWS, clock, timeout=0.5)
        self._ttl = ttl_seconds
        self._clock = clock

    @property
    def error(self) -> str | None:
        """Why the cache is off, if it is."""
        return self._store.error

    def get(self, root: str, model: str) -> CachedWindow | None:
        """The remembered search, unless it is missing, unreadable or older than the expiry."""
        entry = self._store.get(json.dumps([root, model]))
        if entry is None or not 0 <= self._clock() - entry.used <= self._ttl:
            return None
        if entry.value is None:
            return CachedWindow(None, entry.used)
        value = entry.value
        if not isinstance(value, dict) or type(value.get("window")) is not int:
            return None  # a row in another shape: ask again
        try:
            return CachedWindow(Discovered(**value), entry.used)
        except TypeError:
            return None

    def put(self, root: str, model: str, found: Discovered | None) -> None:
        """Remember a search; None records that the server answered without a window."""
        self._store.put(json.dumps([root, model]), asdict(found) if found else None)


def _cached_search(client: JsonClient, model: str, cache: DiscoveryCache, refresh: bool) -> Discovered | None:
    if not refresh and (entry := cache.get(client.root, model)) is not None:
        return entry.found
    try:
        found = _search(client, model)
    except Unreachable:
        return None  # not remembered: the server may be up next time
    cache.put(client.root, model, found)
    return found


def discover_cached(
    base_url: str,
    model: str,
    cache: DiscoveryCache,
    refresh: bool = False,
    api_key: Secret | str | None = None,
    timeout: float = 3.0,
) -> Discovered | None:
    """The window the server at base_url reports for model (None when it does not say), through the cache.

    refresh asks the server even when a fresh answer is kept; an unreachable server is not remembered.
    """
    return _cached_search(JsonClient(base_url, api_key, timeout), model, cache, refresh)


def list_models(
    base_url: str,
    api_key: Secret | str | None = None,
    cache: DiscoveryCache | None = None,
    refresh: bool = False,
    timeout: float = 3.0,
) -> list[ModelListing]:
    """The models /v1/models lists, each with the window the server reports for it."""
    client = JsonClient(base_url, api_key, timeout)
    try:
        listing = client.get("/v1/models")
    except Unreachable:
        raise ModelError(f"cannot reach the model server at {client.root}", "check --base-url") from None
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), list):
        raise ModelError(
            f"the server at {client.root} does not list models at /v1/models", "check --base-url"
        )
    result = []
    for model in [str(e["id"]) for e in _entries(listing) if isinstance(e.get("id"), str)]:
        found = _cached_search(client, model, cache or DiscoveryCache(None), refresh)
        if found is None:
            result.append(ModelListing(model, None, "not reported"))
        else:
            result.append(ModelListing(model, found.window, found.source, found.note))
    return result
