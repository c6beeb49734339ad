"""The model catalog: context windows, output limits and prices, shipped as catalog.json."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from lessongen.errors import UsageError

_DATED = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4}|latest|preview)$")


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
    source: str = "catalog"

    @property
    def input_limit(self) -> int:
        """The most prompt tokens the model accepts."""
        return min(self.context_window, self.max_input_tokens or self.context_window)


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
        source=f"catalog ({checked})",
    )


@cache
def load_catalog() -> Catalog:
    """The catalog shipped with the package."""
    raw = json.loads(resources.files("lessongen.models").joinpath("catalog.json").read_text("utf-8"))
    models = {name: _entry(name, entry, raw["checked"]) for name, entry in raw["models"].items()}
    return Catalog(checked=raw["checked"], source=raw["source"], models=models)


def resolve_model(
    model: str,
    overrides: Mapping[str, ModelOverride],
    flags: ModelOverride,
    catalog: Catalog | None = None,
) -> ModelInfo:
    """Catalog entry < configured [models.NAME] entry < flags; a clear error when no window is known."""
    catalog = catalog or load_catalog()
    base = catalog.find(model)
    layers = [
        (layer, source)
        for layer, source in ((overrides.get(model), "config"), (flags, "flags"))
        if layer is not None and not layer.is_empty()
    ]
    window = base.context_window if base else None
    for layer, _ in layers:
        window = layer.context_window or window
    if window is None:
        raise UsageError(
            f"unknown model {model!r}: its context window is not in the catalog",
            'pass --context-window N, or add [models."' + model + '"] context_window = N to lessongen.toml',
        )
    info = base or ModelInfo(name=model, context_window=window, max_output_tokens=min(4096, window // 4))
    info = replace(info, name=model)
    for layer, source in layers:
        changes = {k: v for k, v in vars(layer).items() if v is not None}
        if "input_price" in changes and "cached_input_price" not in changes and base is None:
            changes["cached_input_price"] = changes["input_price"]
        info = replace(info, **changes, source=source if base is None else f"{info.source} + {source}")
    if info.max_output_tokens > info.context_window:
        info = replace(info, max_output_tokens=info.context_window // 2)
    return info
