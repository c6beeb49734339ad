"""Model prices from genai-prices, whose package ships its price data: the one importer of genai_prices.

Only the bundled data is read (genai-prices' own updater, which downloads, is never started), so
prices need no network; a newer genai-prices brings newer prices. What it finds is remembered in the
cache per genai-prices version, model and day, so a plan imports the data at most once a day.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from importlib import metadata
from typing import Any

from lessongen.shared.cache import Cache

PRICES_NAMESPACE = "prices"
MAX_PRICES = 1_000  # (genai-prices version, model, day) lookups remembered
_PER = 1_000  # tokens priced per lookup: small, so a price tiered by prompt size gives its first tier


@dataclass(frozen=True)
class Prices:
    """USD per 1M input, cached input and output tokens, and where they came from (with a date)."""

    input: float
    cached_input: float
    output: float
    source: str


def prices_version() -> str | None:
    """The installed genai-prices version, or None without it."""
    try:
        return metadata.version("genai-prices")
    except metadata.PackageNotFoundError:
        return None


def market_prices(model: str, cache: Cache | None = None, on: datetime.date | None = None) -> Prices | None:
    """OpenAI's prices for `model` on the day `on` (default today), as genai-prices has them; None if unknown."""
    version = prices_version()
    if version is None:
        return None
    day = on or datetime.date.today()
    key = f"{version}|openai|{model}|{day.isoformat()}"
    entry = cache.get(key) if cache is not None else None
    if entry is not None:
        value = entry.value
    else:
        value = _look_up(model, day)
        if cache is not None:
            cache.put(key, value)
    found = _prices(value)
    if found is None:
        return None
    return Prices(*found, source=f"genai-prices {version} ({day.isoformat()})")


def _prices(value: Any) -> tuple[float, float, float] | None:
    if not isinstance(value, Mapping):
        return None
    try:
        found = (float(value["input"]), float(value["cached_input"]), float(value["output"]))
    except (KeyError, TypeError, ValueError):
        return None
    return found if all(math.isfinite(p) and p >= 0 for p in found) else None


def _look_up(model: str, day: datetime.date) -> dict[str, float] | None:
    """The three prices per 1M tokens from genai-prices' bundled data (imported only here: it is large)."""
    from genai_prices import Usage, calc_price

    when = datetime.datetime.combine(day, datetime.time(12), tzinfo=datetime.UTC)

    def per_million(usage: Usage, output: bool = False) -> float:
        price = calc_price(usage, model, provider_id="openai", genai_request_timestamp=when)
        return float((price.output_price if output else price.input_price) * Decimal(1_000_000 // _PER))

    try:
        return {
            "input": per_million(Usage(input_tokens=_PER)),
            "cached_input": per_million(Usage(input_tokens=_PER, cache_read_tokens=_PER)),
            "output": per_million(Usage(output_tokens=_PER), output=True),
        }
    except LookupError:  # a model genai-prices does not know: the catalog's prices stand
        return None
