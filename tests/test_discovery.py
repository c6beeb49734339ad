"""Context-window discovery against fake servers on 127.0.0.1, and the cache."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fake_local_servers import (
    LMStudioModel,
    LocalServer,
    OllamaModel,
    closed_port_url,
    llama_cpp_server,
    lmstudio_server,
    malformed_server,
    not_found_server,
    ollama_server,
    reset_server,
    vllm_server,
)

from lessongen.config.fields import Secret
from lessongen.errors import ModelError
from lessongen.models.discovery import (
    OLLAMA_DEFAULT_WINDOW,
    OLLAMA_OLD_DEFAULT_WINDOW,
    Discovered,
    DiscoveryCache,
    ModelListing,
    discover_cached,
    list_models,
)
from lessongen.shared.http_json import server_root


def _discover(base_url: str, model: str, **options: Any) -> Discovered | None:
    """The production search without a cache."""
    return discover_cached(base_url, model, DiscoveryCache(None), **options)


@pytest.mark.parametrize(
    ("base_url", "root"),
    [
        ("http://h:1/v1", "http://h:1"),
        ("http://h:1/v1/", "http://h:1"),
        ("http://h:1", "http://h:1"),
        ("http://h:1/proxy/v1", "http://h:1/proxy"),
        ("http://h:1/v10", "http://h:1/v10"),
    ],
)
def test_server_root_drops_only_a_final_v1(base_url: str, root: str) -> None:
    assert server_root(base_url) == root


# ---- each server's shape --------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A server answering in one documented shape, and the window discovery must find there."""

    server: Callable[[], LocalServer]
    model: str
    window: int
    source: str
    kind: str
    note: tuple[str, ...] | None = None  # fragments the caveat must hold; () means none; None: not checked
    not_asked: tuple[str, ...] = ()  # paths discovery must not ask for


SHAPES = [
    pytest.param(
        Shape(
            lambda: ollama_server({"llama3.1:8b": OllamaModel(num_ctx=8192, loaded_window=2048)}),
            "llama3.1:8b",
            8192,
            "Ollama /api/show num_ctx",
            "ollama",
            not_asked=("/api/ps",),  # num_ctx is what a /v1 request gets, whatever is loaded now
            note=(),
        ),
        id="ollama-num-ctx-from-the-modelfile-parameters",
    ),
    pytest.param(
        Shape(
            lambda: ollama_server({"qwen3": OllamaModel(loaded_window=32768)}),
            "qwen3",  # Ollama's ':latest' is implied
            32768,
            "Ollama /api/ps context_length",
            "ollama",
        ),
        id="ollama-loaded-window-from-api-ps-when-num-ctx-is-not-set",
    ),
    pytest.param(
        Shape(
            lambda: ollama_server({"llama3.1": OllamaModel(trained=131072)}, version="0.12.6"),
            "llama3.1",
            OLLAMA_DEFAULT_WINDOW,
            "Ollama default num_ctx",
            "ollama",
            note=("trained for 131072", "--context-window"),
        ),
        id="ollama-without-num-ctx-assumes-its-default-window-and-says-so",
    ),
    pytest.param(
        Shape(
            lambda: ollama_server({"tiny": OllamaModel(trained=2048)}),
            "tiny",
            2048,
            "Ollama default num_ctx",
            "ollama",
        ),
        id="ollama-never-reports-more-than-the-trained-length",
    ),
    pytest.param(
        Shape(
            lambda: llama_cpp_server(n_ctx=16384),
            "whatever-name",  # llama-server ignores the name
            16384,
            "llama.cpp /props n_ctx",
            "llama.cpp",
            note=(),
        ),
        id="llama-cpp-props-per-slot-n-ctx",
    ),
    pytest.param(
        Shape(
            lambda: llama_cpp_server(n_ctx=None, top_level_n_ctx=12288),
            "m",
            12288,
            "llama.cpp /props n_ctx",
            "llama.cpp",
        ),
        id="llama-cpp-props-top-level-n-ctx",
    ),
    pytest.param(
        Shape(
            lambda: llama_cpp_server(n_ctx=6144, top_level_n_ctx=12288),
            "m",
            6144,
            "llama.cpp /props n_ctx",
            "llama.cpp",
        ),
        id="llama-cpp-props-with-both-takes-the-slot-share",
    ),
    pytest.param(
        Shape(
            lambda: vllm_server({"Qwen/Qwen2.5-7B-Instruct": 32768, "small": 4096}),
            "small",
            4096,
            "vLLM /v1/models max_model_len",
            "vllm",
            note=(),
        ),
        id="vllm-max-model-len-for-the-matching-id",
    ),
    pytest.param(
        Shape(
            lambda: lmstudio_server(
                [LMStudioModel("qwen/qwen3-4b", 32768, loaded_window=8192), LMStudioModel("b", 4096)]
            ),
            "qwen/qwen3-4b",
            8192,
            "LM Studio /api/v0/models loaded_context_length",
            "lmstudio",
            note=(),
        ),
        id="lmstudio-loaded-context-length",
    ),
    pytest.param(
        Shape(
            lambda: lmstudio_server([LMStudioModel("b", max_window=131072)]),
            "b",
            131072,
            "LM Studio /api/v0/models max_context_length",
            "lmstudio",
            note=("not loaded",),
        ),
        id="lmstudio-not-loaded-falls-back-to-max-context-length-with-a-note",
    ),
    pytest.param(
        Shape(
            lambda: lmstudio_server([LMStudioModel("a", 32768, loaded_window=16384)], v1_only=True),
            "a",
            16384,
            "LM Studio /api/v1/models context_length",
            "lmstudio",
        ),
        id="lmstudio-v1-api-loaded-instances",
    ),
]


@pytest.mark.parametrize("shape", SHAPES)
def test_each_server_shape(shape: Shape) -> None:
    with shape.server() as server:
        found = _discover(server.base_url, shape.model)
    assert found is not None
    assert (found.window, found.source, found.server) == (shape.window, shape.source, shape.kind)
    if shape.note == ():
        assert found.note == ""
    elif shape.note is not None:
        assert all(fragment in found.note for fragment in shape.note), found.note
    assert not set(shape.not_asked) & set(server.paths)


@pytest.mark.parametrize(
    ("version", "window"),
    [("0.6.6", OLLAMA_OLD_DEFAULT_WINDOW), ("0.6.7", 4096), ("0.13.0-rc1", 4096), ("weird", 2048)],
)
def test_ollama_default_window_depends_on_the_version(version: str, window: int) -> None:
    with ollama_server({"m": OllamaModel()}, version=version) as server:
        found = _discover(server.base_url, "m")
    assert found is not None and found.window == window


def test_a_base_url_without_v1_works_too() -> None:
    with llama_cpp_server(n_ctx=4096) as server:
        found = _discover(server.root + "/", "m")
    assert found is not None and found.window == 4096


# ---- misses ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("server", "model"),
    [
        pytest.param(
            lambda: ollama_server({"llama3.1": OllamaModel(num_ctx=8192)}),
            "mistral",
            id="ollama-unknown-model",
        ),
        pytest.param(
            lambda: vllm_server({"Qwen/Qwen2.5-7B-Instruct": 32768, "small": 4096}),
            "other",
            id="vllm-unknown-id",
        ),
        pytest.param(malformed_server, "m", id="malformed-json"),
    ],
)
def test_a_server_without_the_model_or_with_a_broken_answer_is_a_miss(
    server: Callable[[], LocalServer], model: str
) -> None:
    with server() as running:
        assert _discover(running.base_url, model) is None


def test_a_server_that_404s_everything_is_a_miss() -> None:
    with not_found_server() as server:
        assert _discover(server.base_url, "m") is None
    assert server.paths == ["/v1/models", "/props", "/api/show", "/api/v0/models", "/api/v1/models"]


def test_an_unreachable_server_is_a_quick_miss() -> None:
    assert _discover(closed_port_url(), "m") is None
    # What keeps it quick: the first request that gets no answer ends the search.
    with reset_server() as server:
        assert _discover(server.base_url, "m") is None
    assert server.paths == ["/v1/models"]


def test_a_server_that_does_not_answer_in_time_is_asked_only_once() -> None:
    with llama_cpp_server(delay=2.0) as server:
        assert _discover(server.base_url, "m", timeout=0.2) is None
    assert server.paths == ["/v1/models"]


def test_a_base_url_that_is_not_a_url_is_a_miss() -> None:
    assert _discover("localhost:8080", "m") is None


# ---- the API key ----------------------------------------------------------------------------------


def test_the_key_goes_to_the_given_server_as_a_bearer_header() -> None:
    with ollama_server({"m": OllamaModel()}, api_key="sk-local") as server:
        assert _discover(server.base_url, "m", api_key=Secret("sk-local")) is not None
    assert server.seen and all(s.had_auth and s.auth_ok for s in server.seen)


def test_no_key_no_header() -> None:
    with ollama_server({"m": OllamaModel()}) as server:
        _discover(server.base_url, "m")
    assert server.seen and not any(s.had_auth for s in server.seen)


def test_redirects_are_not_followed_so_the_key_stays_with_the_given_server() -> None:
    with llama_cpp_server(n_ctx=8192) as elsewhere:
        with LocalServer({}, redirect_to=elsewhere.root) as server:
            assert _discover(server.base_url, "m", api_key="sk-local") is None
        assert server.seen and all(s.had_auth for s in server.seen)
    assert elsewhere.seen == []


_FOUND = Discovered(8192, "llama.cpp /props n_ctx", "llama.cpp")


# ---- the cache ------------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_cached_window_is_not_asked_again(tmp_path: Path) -> None:
    cache = DiscoveryCache(tmp_path / "discovery.sqlite")
    with llama_cpp_server(n_ctx=8192) as server:
        first = discover_cached(server.base_url, "m", cache)
        asked = len(server.seen)
        again = discover_cached(server.base_url, "m", DiscoveryCache(tmp_path / "discovery.sqlite"))
        assert len(server.seen) == asked
    assert first == again == _FOUND
    assert cache.error is None


def test_an_expired_entry_is_asked_again(tmp_path: Path) -> None:
    clock = Clock()
    cache = DiscoveryCache(tmp_path / "d.sqlite", ttl_seconds=3600, clock=clock)
    with llama_cpp_server(n_ctx=8192) as server:
        discover_cached(server.base_url, "m", cache)
        clock.now += 3599
        discover_cached(server.base_url, "m", cache)
        assert server.paths.count("/props") == 1
        clock.now += 2
        discover_cached(server.base_url, "m", cache)
        assert server.paths.count("/props") == 2


def test_refresh_asks_the_server_and_updates_the_entry(tmp_path: Path) -> None:
    cache = DiscoveryCache(tmp_path / "d.sqlite")
    with llama_cpp_server(n_ctx=8192) as old:
        discover_cached(old.base_url, "m", cache)
        cache.put(server_root(old.base_url), "m", Discovered(1, "stale"))
        refreshed = discover_cached(old.base_url, "m", cache, refresh=True)
        assert refreshed == _FOUND
        assert discover_cached(old.base_url, "m", cache) == _FOUND
        assert old.paths.count("/props") == 2


def test_a_server_that_does_not_say_is_remembered_as_such(tmp_path: Path) -> None:
    cache = DiscoveryCache(tmp_path / "d.sqlite")
    with not_found_server() as server:
        assert discover_cached(server.base_url, "m", cache) is None
        asked = len(server.seen)
        assert discover_cached(server.base_url, "m", cache) is None
        assert len(server.seen) == asked


def test_an_unreachable_server_is_not_remembered(tmp_path: Path) -> None:
    cache = DiscoveryCache(tmp_path / "d.sqlite")
    url = closed_port_url()
    assert discover_cached(url, "m", cache) is None
    assert cache.get(server_root(url), "m") is None


def test_entries_are_per_server_and_model(tmp_path: Path) -> None:
    cache = DiscoveryCache(tmp_path / "d.sqlite")
    cache.put("http://a", "m", _FOUND)
    assert cache.get("http://b", "m") is None
    assert cache.get("http://a", "n") is None


def test_a_cache_file_that_is_not_a_database_is_started_afresh(tmp_path: Path) -> None:
    path = tmp_path / "discovery.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = DiscoveryCache(path)
    with llama_cpp_server(n_ctx=8192) as server:
        assert discover_cached(server.base_url, "m", cache) == _FOUND
        url = server.base_url
    assert cache.error is None
    assert discover_cached(url, "m", DiscoveryCache(path)) == _FOUND  # remembered: the server is gone


def test_an_unwritable_cache_folder_only_disables_the_cache(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    cache = DiscoveryCache(blocker / "discovery.sqlite")
    with llama_cpp_server(n_ctx=8192) as server:
        assert discover_cached(server.base_url, "m", cache) == _FOUND
        assert discover_cached(server.base_url, "m", cache) == _FOUND
    assert cache.error is not None


def test_a_locked_cache_only_disables_the_cache(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "d.sqlite"
    DiscoveryCache(path).put("http://h", "m", _FOUND)
    holder = sqlite3.connect(path)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        cache = DiscoveryCache(path)
        assert cache.get("http://h", "m") is None
        assert cache.error is not None
    finally:
        holder.close()


def test_no_cache_path_means_no_cache() -> None:
    cache = DiscoveryCache(None)
    cache.put("http://h", "m", _FOUND)
    assert cache.get("http://h", "m") is None and cache.error is None


# ---- listing models -------------------------------------------------------------------------------


def test_list_models_with_windows_from_vllm() -> None:
    with vllm_server({"big": 131072, "small": 4096}) as server:
        listed = list_models(server.base_url)
    assert listed == [
        ModelListing("big", 131072, "vLLM /v1/models max_model_len"),
        ModelListing("small", 4096, "vLLM /v1/models max_model_len"),
    ]
    assert server.paths.count("/v1/models") == 1


def test_list_models_from_ollama_asks_each_model() -> None:
    models = {"llama3.1:8b": OllamaModel(num_ctx=8192), "qwen3:4b": OllamaModel(loaded_window=16384)}
    with ollama_server(models) as server:
        listed = list_models(server.base_url)
    assert [(m.id, m.window) for m in listed] == [("llama3.1:8b", 8192), ("qwen3:4b", 16384)]


def test_list_models_fills_and_uses_the_cache(tmp_path: Path) -> None:
    cache = DiscoveryCache(tmp_path / "d.sqlite")
    with llama_cpp_server(n_ctx=8192, model_id="model.gguf") as server:
        list_models(server.base_url, cache=cache)
        assert discover_cached(server.base_url, "model.gguf", cache) == _FOUND
        assert server.paths.count("/props") == 1
        list_models(server.base_url, cache=cache, refresh=True)
        assert server.paths.count("/props") == 2


def test_list_models_marks_models_without_a_window() -> None:
    with lmstudio_server([LMStudioModel("x", 8192)], v1_only=True) as server:
        assert list_models(server.base_url) == [ModelListing("x", None, "not reported")]


def test_list_models_on_an_unreachable_server_is_a_model_error() -> None:
    with pytest.raises(ModelError, match="cannot reach"):
        list_models(closed_port_url())


def test_list_models_without_a_model_list_is_a_model_error() -> None:
    with not_found_server() as server, pytest.raises(ModelError, match="does not list models"):
        list_models(server.base_url)
