"""The model's facts: its window and where it came from, output limits, prices and what a call costs.

The catalog of known models ships as catalog.json.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Any

from lessongen.errors import UsageError
from lessongen.models.prices import Prices

UNPRICED = "unpriced"  # the price source of a model nobody gave prices: it is free
_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4}|latest|preview)$")


class WindowSource(StrEnum):
    """Where a model's context window came from, in the order of precedence."""

    SETTING = "context_window setting"
    SERVER = "server"
    CATALOG = "catalog"
    FALLBACK = "fallback_context_window"
    GGUF = "GGUF file"


@dataclass(frozen=True)
class Window:
    """A context window and its provenance; detail says what the server reported it in."""

    tokens: int
    source: WindowSource
    detail: str = ""  # e.g. "llama.cpp /props n_ctx"

    def describe(self) -> str:
        """Where the window came from, in words."""
        return self.detail or self.source.value


@dataclass(frozen=True)
class ModelInfo:
    """What the planner needs to know about a model; prices are USD per 1M tokens."""

    name: str
    context_window: int
    max_output_tokens: int
    max_input_tokens: int | None = None
    input_price: float = 0.0
    cached_input_price: float = 0.0
    output_price: float = 0.0
    price_source: str = "catalog"  # e.g. "genai-prices 0.2.3 (2026-12-01) + config", or UNPRICED
    window_source: WindowSource = WindowSource.CATALOG
    window_detail: str = ""

    @property
    def input_limit(self) -> int:
        """The most prompt tokens the model accepts."""
        return min(self.context_window, self.max_input_tokens or self.context_window)

    @property
    def window(self) -> Window:
        """The context window with its provenance."""
        return Window(self.context_window, self.window_source, self.window_detail)

    @property
    def provenance(self) -> str:
        """Where the facts came from, in words: the prices' source, and the window's when it differs."""
        if self.window_source in (WindowSource.CATALOG, WindowSource.GGUF):
            return self.price_source
        return f"{self.price_source}; window from {self.window.describe()}"

    @property
    def prices(self) -> Prices:
        """The three prices and their source."""
        return Prices(self.input_price, self.cached_input_price, self.output_price, self.price_source)

    def cost(self, prompt: int, reply: int, cached: int = 0) -> float:
        """USD of one call: `cached` of the prompt tokens at the cached price (0: the most it can cost)."""
        fresh = prompt - cached
        return (fresh * self.input_price + cached * self.cached_input_price + reply * self.output_price) / 1e6


@dataclass(frozen=True)
class ModelOverride:
    """A model entry from configuration or flags; unset fields fall back to the catalog."""

    context_window: int | None = None
    max_output_tokens: int | None = None
    max_input_tokens: int | None = None
    input_price: float | None = None
    cached_input_price: float | None = None
    output_price: float | None = None

    def is_empty(self) -> bool:
        """True when nothing is overridden."""
        return all(v is None for v in vars(self).values())


@dataclass(frozen=True)
class Catalog:
    """The shipped models, their date and source."""

    checked: str
    source: str
    models: Mapping[str, ModelInfo]

    def find(self, model: str) -> ModelInfo | None:
        """A catalog entry by exact name, then without a provider prefix or a date suffix."""
        name = model.split("/")[-1]
        while name:
            if name in self.models:
                return self.models[name]
            shorter = _DATED.sub("", name)
            if shorter == name:
                return None
            name = shorter
        return None


def _entry(name: str, raw: Mapping[str, Any], checked: str) -> ModelInfo:
    cached = raw.get("cached_input")
    return ModelInfo(
        name=name,
        context_window=int(raw["context_window"]),
        max_output_tokens=int(raw["max_output_tokens"]),
        max_input_tokens=raw.get("max_input_tokens"),
        input_price=float(raw["input"]),
        cached_input_price=float(raw["input"] if cached is None else cached),
        output_price=float(raw["output"]),
        price_source=f"catalog ({checked})",
    )


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package."""
    raw = json.loads(resources.files("lessongen.models").joinpath("catalog.json").read_text("utf-8"))
    models = {name: _entry(name, entry, raw["checked"]) for name, entry in raw["models"].items()}
    return Catalog(checked=raw["checked"], source=raw["source"], models=models)


def choose_window(
    explicit: int | None,
    server: Window | None,
    catalog: int | None,
    fallback: int | None,
    model: str = "the model",
) -> Window:
    """Explicit setting > the server's report > catalog > fallback_context_window; else one error."""
    if explicit is not None:
        return Window(explicit, WindowSource.SETTING)
    if server is not None:
        return server
    if catalog is not None:
        return Window(catalog, WindowSource.CATALOG)
    if fallback is not None:
        return Window(fallback, WindowSource.FALLBACK)
    close = difflib.get_close_matches(model, list(load_catalog().models), n=1, cutoff=0.75)
    raise UsageError(
        f"the context window of {model!r} is unknown: it is not in the catalog and no server reported it"
        + (f" (did you mean {close[0]!r}?)" if close else ""),
        f'pass --context-window N, or set [models."{model}"] context_window or fallback_context_window '
        "in lessongen.toml",
    )


def explicit_window(model: str, overrides: Mapping[str, ModelOverride], flags: ModelOverride) -> int | None:
    """The window the user set for this model: a flag, else its [models.NAME] entry."""
    configured = overrides.get(model)
    return flags.context_window or (configured.context_window if configured else None)


_PRICES = ("input_price", "cached_input_price", "output_price")


def resolve_model(
    model: str,
    overrides: Mapping[str, ModelOverride],
    flags: ModelOverride,
    catalog: Catalog | None = None,
    server: Window | None = None,
    fallback: int | None = None,
    market: Prices | None = None,
) -> ModelInfo:
    """Catalog entry (its prices replaced by `market`'s) < [models.NAME] entry < flags; window from choose_window."""
    catalog = catalog or load_catalog()
    base = catalog.find(model)
    window = choose_window(
        explicit_window(model, overrides, flags),
        server,
        base.context_window if base else None,
        fallback,
        model,
    )
    layers = [
        (layer, source)
        for layer, source in ((overrides.get(model), "config"), (flags, "flags"))
        if layer is not None and not layer.is_empty()
    ]
    info = base or ModelInfo(
        name=model,
        context_window=window.tokens,
        max_output_tokens=min(4096, window.tokens // 4),
        price_source=UNPRICED,
    )
    info = replace(info, name=model)
    if market is not None:
        info = replace(
            info,
            input_price=market.input,
            cached_input_price=market.cached_input,
            output_price=market.output,
            price_source=market.source,
        )
    for layer, source in layers:
        changes = {k: v for k, v in vars(layer).items() if v is not None and k != "context_window"}
        if "input_price" in changes and "cached_input_price" not in changes and base is None:
            changes["cached_input_price"] = changes["input_price"]
        if any(k in changes for k in _PRICES):
            priced = info.price_source != UNPRICED
            changes["price_source"] = f"{info.price_source} + {source}" if priced else source
        info = replace(info, **changes)
    info = replace(
        info, context_window=window.tokens, window_source=window.source, window_detail=window.detail
    )
    if info.max_output_tokens > info.context_window:
        info = replace(info, max_output_tokens=info.context_window // 2)
    return info
