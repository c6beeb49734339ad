"""Prices from genai-prices' bundled data, the catalog's as the fallback, and where plans, run.json and `models` say so."""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from importlib import metadata
from pathlib import Path

import pytest
from fake_openai import FakeServer
from genai_prices import Usage, calc_price
from helpers import make_repo
from test_cli import invoke
from test_run import run_cli
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.models.catalog import Catalog, ModelOverride, load_catalog, resolve_model
from lessongen.models.prices import PRICES_NAMESPACE, Prices, market_prices
from lessongen.shared.cache import Cache

VERSION = metadata.version("genai-prices")
DAY = datetime.date(2026, 1, 15)


def per_million(usage: Usage, output: bool = False) -> float:
    """genai-prices' own answer for 1,000 tokens, scaled to a million (computed here independently)."""
    when = datetime.datetime(2026, 1, 15, 12, tzinfo=datetime.UTC)
    price = calc_price(usage, "gpt-4o-mini", provider_id="openai", genai_request_timestamp=when)
    return float((price.output_price if output else price.input_price) * Decimal(1000))


def test_prices_come_from_genai_prices_with_its_version_and_the_day() -> None:
    found = market_prices("gpt-4o-mini", on=DAY)
    assert found == Prices(
        per_million(Usage(input_tokens=1000)),
        per_million(Usage(input_tokens=1000, cache_read_tokens=1000)),
        per_million(Usage(output_tokens=1000), output=True),
        f"genai-prices {VERSION} (2026-01-15)",
    )
    assert 0 < found.cached_input < found.input < found.output
    assert market_prices("no-such-model-anywhere", on=DAY) is None


def test_a_lookup_is_remembered_per_version_model_and_day(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite", PRICES_NAMESPACE, 10)
    first = market_prices("gpt-4o-mini", cache, on=DAY)
    key = f"{VERSION}|openai|gpt-4o-mini|2026-01-15"
    assert set(cache.load()) == {key}
    cache.put(key, {"input": 1.0, "cached_input": 0.5, "output": 2.0})  # what a later plan reads back
    assert first is not None
    assert market_prices("gpt-4o-mini", cache, on=DAY) == Prices(1.0, 0.5, 2.0, first.source)
    next_day = market_prices("gpt-4o-mini", cache, on=DAY + datetime.timedelta(days=1))  # looked up again
    assert next_day is not None and next_day.input == first.input and "(2026-01-16)" in next_day.source
    cache.put(key, {"input": "free"})  # a row of another shape is no price
    assert market_prices("gpt-4o-mini", cache, on=DAY) is None
    missing = market_prices("no-such-model-anywhere", cache, on=DAY)
    assert missing is None and cache.get(f"{VERSION}|openai|no-such-model-anywhere|2026-01-15") is not None


def test_the_catalog_keeps_windows_and_prices_what_genai_prices_does_not_know() -> None:
    catalog = load_catalog()
    market = Prices(1.0, 0.25, 4.0, "genai-prices 9.9.9 (2026-01-15)")
    priced = resolve_model("gpt-4o-mini", {}, ModelOverride(), catalog, market=market)
    assert (priced.input_price, priced.cached_input_price, priced.output_price) == (1.0, 0.25, 4.0)
    assert priced.price_source == market.source
    assert priced.context_window == catalog.models["gpt-4o-mini"].context_window  # the window stays
    fallback = resolve_model("gpt-4o-mini", {}, ModelOverride(), catalog, market=None)
    assert fallback.price_source == f"catalog ({catalog.checked})"
    assert fallback.input_price == catalog.models["gpt-4o-mini"].input_price
    flagged = resolve_model("gpt-4o-mini", {}, ModelOverride(output_price=9.0), catalog, market=market)
    assert flagged.output_price == 9.0 and flagged.price_source == f"{market.source} + flags"
    unknown = Catalog("2025-01-01", "test", {})
    assert resolve_model("x", {}, ModelOverride(context_window=4096), unknown).price_source == "unpriced"


def test_plan_and_run_json_say_where_the_prices_came_from(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    code, out, err = invoke("plan", str(repo), "--json", "--no-local")
    assert code == 0, err
    prices = json.loads(out)["prices_usd_per_million"]
    today = market_prices("gpt-4o-mini")
    assert today is not None and prices == {
        "input": today.input,
        "cached_input": today.cached_input,
        "output": today.output,
        "source": f"genai-prices {VERSION} ({datetime.date.today().isoformat()})",
    }
    # Another server is not OpenAI: genai-prices' OpenAI prices are not its prices; the catalog's stand.
    lesson = tmp_path / "lesson"
    code, _, stderr = run_cli(fake_openai, repo, lesson)
    assert code == 0, stderr
    recorded = json.loads((lesson / "run.json").read_text())["prices_usd_per_million"]
    assert recorded["source"] == f"catalog ({load_catalog().checked})"
    assert recorded["input"] == load_catalog().models["gpt-4o-mini"].input_price


@pytest.mark.parametrize("columns", ["80", "120"])
def test_models_shows_each_models_prices_and_whole_ids(columns: str) -> None:
    result = CliRunner().invoke(app, ["models"], env={"COLUMNS": columns, "NO_COLOR": "1", "TERM": "dumb"})
    assert result.exit_code == 0
    out = result.stdout
    assert f"prices from genai-prices {VERSION}" in " ".join(out.split())  # the title may wrap
    assert max(len(line) for line in out.splitlines()) <= int(columns)
    for name in load_catalog().models:
        prices = market_prices(name)
        assert prices is not None
        row = next(line for line in out.splitlines() if f"│ {name} " in line)  # the id whole, on one line
        cells = [cell.strip() for cell in row.strip("│").split("│")]
        assert cells[0] == name
        assert cells[2:5] == [f"{p:g}" for p in (prices.input, prices.cached_input, prices.output)]
