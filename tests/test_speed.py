"""The local model's speed probe: its arithmetic, its memory per model file and machine, and the plan's use of it."""

from __future__ import annotations

import json
import math
import os
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import make_repo
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.config.settings import resolve_settings
from lessongen.conversation.advice import TYPICAL_SERVER, RateSource
from lessongen.models.backend import choose_backend
from lessongen.models.local import bundled_model_path, local_available
from lessongen.models.speed import SPEED_NAMESPACE, Speed, Timings, remembered_speed, speed_key
from lessongen.pipeline import build_plan, plan_advice, prepare
from lessongen.shared.cache import Cache, cache_file

MEASURED = Speed(100.0, 10.0, 0.1, "2026-01-02")


def test_the_speeds_are_each_extra_tokens_time_over_the_tiny_call() -> None:
    # A 4-token call takes 0.1 s; 64 prompt tokens 0.7 s (60 more in 0.6 s); 8 more reply tokens 0.9 s.
    speed = Timings(0.1, 4, 0.7, 64, 0.9, 8).speed("2026-01-02")
    assert speed.prompt_per_second == pytest.approx(100.0)
    assert speed.reply_per_second == pytest.approx(10.0)
    assert speed.seconds_per_call == pytest.approx(0.1) and speed.measured_on == "2026-01-02"
    # The tiny call slower than the others (the CPU was taken): the plain ratios, never a negative speed.
    noisy = Timings(2.0, 4, 0.5, 64, 0.4, 8).speed("2026-01-02")
    assert noisy.prompt_per_second == pytest.approx(128.0) and noisy.reply_per_second == pytest.approx(20.0)


def test_a_speed_is_measured_once_then_remembered(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache.sqlite", SPEED_NAMESPACE, 10)
    probes: list[Speed] = []

    def measure() -> Speed:
        probes.append(replace(MEASURED, prompt_per_second=100.0 + len(probes)))
        return probes[-1]

    first = remembered_speed(measure, "model|machine", cache)
    assert first.prompt_per_second == 100.0 and not first.remembered and len(probes) == 1
    again = remembered_speed(measure, "model|machine", Cache(tmp_path / "cache.sqlite", SPEED_NAMESPACE, 10))
    assert again == replace(first, remembered=True) and len(probes) == 1  # read back, not measured
    other = remembered_speed(measure, "other model|machine", cache)
    assert other.prompt_per_second == 101.0 and len(probes) == 2
    refreshed = remembered_speed(measure, "model|machine", cache, again=True)
    assert refreshed.prompt_per_second == 102.0 and not refreshed.remembered
    cache.put("model|machine", {"prompt_per_second": "fast"})  # a row of another shape: measured again
    assert remembered_speed(measure, "model|machine", cache).prompt_per_second == 103.0


def test_the_key_names_the_model_file_as_it_is_now(tmp_path: Path) -> None:
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF" + b"\0" * 10)
    key = speed_key(model, None)
    assert str(model.resolve()) in key and key == speed_key(model, None)
    assert speed_key(model, 2) != key  # another thread count is another speed
    model.write_bytes(b"GGUF" + b"\0" * 20)  # a new model in the same place
    os.utime(model, ns=(1, 1))
    assert speed_key(model, None) != key


def test_a_probed_speed_sets_the_plans_estimate_unless_a_ledger_or_the_setting_says_otherwise(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", modules=2)
    out = tmp_path / "lesson"
    probes: list[int] = []

    def advice_for(**values: object) -> tuple[str, float]:
        settings = resolve_settings(repo, {"output": out, "local": False, **values}, env={})
        backend = choose_backend(settings)

        def probe() -> Speed:
            probes.append(1)
            return MEASURED

        plan = build_plan(prepare(settings, backend=replace(backend, speed=probe)))
        advice = plan_advice(plan)
        expected = sum(
            0.1 + (c.prompt_tokens - c.cached_tokens) / 100.0 + c.reply_tokens / 10.0 for c in plan.calls
        )
        if advice.rates.source is RateSource.PROBE:
            assert advice.seconds == pytest.approx(expected)
        return advice.rates.source, advice.seconds

    assert advice_for()[0] is RateSource.PROBE and len(probes) == 1
    assert advice_for(probe_speed=False)[0] is RateSource.TYPICAL_SERVER and len(probes) == 1
    out.mkdir()
    calls = [{"prompt_tokens": 5_000, "cached_tokens": 0, "completion_tokens": 60, "seconds": 6.0}]
    (out / "run.json").write_text(json.dumps({"model": "gpt-4o-mini", "calls": calls}))
    assert advice_for()[0] is RateSource.PREVIOUS_RUN and len(probes) == 1  # the ledger is measured too
    assert TYPICAL_SERVER.source is RateSource.TYPICAL_SERVER


@pytest.mark.slow
@pytest.mark.skipif(not local_available() or bundled_model_path() is None, reason="needs the local extra")
def test_a_local_plan_probes_smollm2_once_per_machine(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=1)
    cache = tmp_path / "cache"
    base = ["plan", str(repo), "--local", "--json", "--cache-dir", str(cache)]
    env = {"COLUMNS": "120", "LESSONGEN_LOCAL": ""}

    def estimate(*extra: str) -> dict[str, object]:
        result = CliRunner().invoke(app, [*base, *extra], env=env)
        assert result.exit_code == 0, result.stderr
        found: dict[str, object] = json.loads(result.stdout)["estimate"]
        return found

    first = estimate()
    assert first["source"] == RateSource.PROBE.value
    for rate in ("prompt_tokens_per_second", "reply_tokens_per_second"):
        value = first[rate]
        assert isinstance(value, float) and math.isfinite(value) and value > 0
    remembered = Cache(cache_file(cache), SPEED_NAMESPACE, 10).load()
    assert len(remembered) == 1 and "SmolLM2" in next(iter(remembered))
    assert estimate() == first  # read back from the cache: the same speeds, no second probe
    assert estimate("--no-probe")["source"] == RateSource.TYPICAL_LOCAL.value
