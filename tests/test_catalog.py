import pytest

from lessongen.errors import UsageError
from lessongen.models.catalog import (
    ModelInfo,
    ModelOverride,
    Window,
    WindowSource,
    choose_window,
    load_catalog,
    resolve_model,
)

REQUIRED = [
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o3",
    "o4-mini",
    "gpt-4-turbo",
    "gpt-3.5-turbo",
]


def test_catalog_has_required_models_with_date_and_source() -> None:
    catalog = load_catalog()
    assert catalog.checked and catalog.source.startswith("https://")
    for name in REQUIRED:
        info = catalog.models[name]
        assert info.context_window > 0 and info.max_output_tokens > 0
        assert info.input_price > 0 and info.output_price > 0


def test_gpt5_input_limit() -> None:
    info = load_catalog().models["gpt-5"]
    assert info.context_window == 400_000
    assert info.input_limit == 272_000


def test_dated_and_prefixed_names_resolve() -> None:
    assert resolve_model("gpt-4o-mini-2024-07-18", {}, ModelOverride()).context_window == 128_000
    assert resolve_model("openai/gpt-4.1", {}, ModelOverride()).context_window == 1_047_576


def test_unknown_model_names_the_setting() -> None:
    with pytest.raises(UsageError) as caught:
        resolve_model("my-local-model", {}, ModelOverride())
    assert "--context-window" in caught.value.one_line()


def test_config_then_flags_override() -> None:
    config = {"gpt-4o": ModelOverride(context_window=64_000, input_price=1.0)}
    info = resolve_model("gpt-4o", config, ModelOverride(output_price=2.0))
    assert (info.context_window, info.input_price, info.output_price) == (64_000, 1.0, 2.0)
    assert info.cached_input_price == 1.25  # kept from the catalog


def test_unknown_model_with_window_is_free_unless_priced() -> None:
    info = resolve_model("local", {}, ModelOverride(context_window=8192, input_price=0.5))
    assert info.context_window == 8192
    assert info.cached_input_price == 0.5
    assert info.output_price == 0.0


def test_worst_case_cost_assumes_no_cache_and_the_full_reply() -> None:
    model = ModelInfo("m", 1000, 100, input_price=2.0, cached_input_price=0.5, output_price=8.0)
    assert model.cost(1_000_000, 1_000_000) == 10.0


# ---- resolution order -----------------------------------------------------------------------------

_SERVER = Window(8192, WindowSource.SERVER, "llama.cpp /props n_ctx")


def test_an_explicit_setting_wins() -> None:
    assert choose_window(4096, _SERVER, 128000, 2048) == Window(4096, WindowSource.SETTING)


def test_then_the_server() -> None:
    assert choose_window(None, _SERVER, 128000, 2048) == _SERVER


def test_then_the_catalog() -> None:
    assert choose_window(None, None, 128000, 2048) == Window(128000, WindowSource.CATALOG)


def test_then_the_fallback() -> None:
    assert choose_window(None, None, None, 2048) == Window(2048, WindowSource.FALLBACK)


def test_otherwise_an_error_naming_the_flag() -> None:
    with pytest.raises(UsageError) as caught:
        choose_window(None, None, None, None, model="my-model")
    assert "my-model" in caught.value.message and "--context-window" in caught.value.hint


def test_the_window_provenance_and_the_price_source_are_kept_apart() -> None:
    server = Window(32768, WindowSource.SERVER, "vLLM /v1/models max_model_len")
    info = resolve_model("gpt-4o", {"gpt-4o": ModelOverride(input_price=1.0)}, ModelOverride(), server=server)
    assert (info.context_window, info.window_source) == (32768, WindowSource.SERVER)
    assert info.price_source == f"catalog ({load_catalog().checked}) + config"
    assert info.provenance == f"{info.price_source}; window from vLLM /v1/models max_model_len"
    unknown = resolve_model("my-model", {}, ModelOverride(), fallback=4096)
    assert (unknown.window_source, unknown.price_source) == (WindowSource.FALLBACK, "unpriced")


def test_a_catalog_model_shows_one_source() -> None:
    info = resolve_model("gpt-4o-mini", {}, ModelOverride())
    assert info.window_source is WindowSource.CATALOG
    assert info.provenance == info.price_source == f"catalog ({load_catalog().checked})"
