import pytest

from lessongen.errors import UsageError
from lessongen.models.catalog import ModelOverride, load_catalog, resolve_model

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
