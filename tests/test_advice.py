"""The plan's time estimate and warnings, its compact rendering of large plans, and no line against the verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import TINY_TEMPLATES, Golden, make_repo, undated
from test_cli import invoke

from lessongen.conversation.advice import TYPICAL_SERVER, RateSource, duration, rates_from_ledger
from lessongen.conversation.dry_run import CallRecord
from lessongen.conversation.history import CallKind


def test_rates_scale_to_the_previous_run() -> None:
    calls = [{"prompt_tokens": 5_000, "cached_tokens": 0, "completion_tokens": 60, "seconds": 6.0}]
    # The typical server needs 0.5 + 1 + 1 = 2.5 s for this call; the previous run took 6 s.
    rates = rates_from_ledger(calls, TYPICAL_SERVER)
    assert rates is not None and rates.source is RateSource.PREVIOUS_RUN
    call = CallRecord(1, CallKind.BATCH, "batch 1", 0, 5_000, 0, 60, 0.0, 0.0)
    assert rates.seconds(call) == pytest.approx(6.0)
    assert rates_from_ledger([{**calls[0], "replayed": True}], TYPICAL_SERVER) is None  # replays took no time


def test_duration_wording() -> None:
    assert [duration(s) for s in (30, 600, 18_000, 432_000)] == [
        "under a minute",
        "10 min",
        "5.0 h",
        "5.0 days",
    ]


def many_files(root: Path, count: int = 40) -> Path:
    for i in range(count):
        path = root / "pkg" / f"m{i:02d}.py"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"def f{i}_{j}(x):\n    return x + {j}\n\n" for j in range(12)))
    return root


def tiny_prompts(folder: Path) -> Path:
    folder.mkdir()
    for name, text in TINY_TEMPLATES.items():
        (folder / f"{name}.md").write_text(text + "\n")
    return folder


def test_a_large_plan_is_compact_and_warns_with_advice(tmp_path: Path, golden: Golden) -> None:
    repo = many_files(tmp_path / "repo")
    prompts = tiny_prompts(tmp_path / "prompts")
    args = ["plan", str(repo), "--prompts-dir", str(prompts), "--max-batch-tokens", "300", "--no-local"]
    code, out, _ = invoke(*args, "--context-window", "4096", "--reply-tokens", "600")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) < 120  # first and last rows only
    assert "more calls" in out and "more batches" in out and "see --json" in out
    assert "estimated time" in out
    warnings = [line for line in lines if line.startswith("warning: ")]
    assert any("max_batch_tokens" in w for w in warnings)
    golden.check("plan_large.txt", undated(out.replace(str(repo), "<repo>")))

    code, text, _ = invoke(*args, "--context-window", "4096", "--reply-tokens", "600", "--json")
    report = json.loads(text)
    assert len(report["calls"]) > 30  # the full detail stays in --json
    assert (
        report["estimate"]["seconds"] > 0 and report["estimate"]["source"] == RateSource.TYPICAL_SERVER.value
    )
    assert report["warnings"] == [w.removeprefix("warning: ") for w in warnings]


def test_the_estimate_learns_from_the_previous_run_of_the_same_model(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=2)
    out = tmp_path / "lesson"
    out.mkdir()
    calls = [{"prompt_tokens": 5_000, "cached_tokens": 0, "completion_tokens": 60, "seconds": 600.0}]
    (out / "run.json").write_text(json.dumps({"model": "gpt-4o-mini", "calls": calls}))
    base = ["plan", str(repo), "--json", "--output", str(out)]
    report = json.loads(invoke(*base)[1])
    assert report["estimate"]["source"] == RateSource.PREVIOUS_RUN.value
    assert any("of run time" in w and "--include" in w for w in report["warnings"])
    other = json.loads(invoke(*base, "--model", "gpt-4o")[1])
    assert other["estimate"]["source"] == RateSource.TYPICAL_SERVER.value  # another model's speed is no guide


def test_a_plan_that_does_not_fit_says_nothing_against_its_verdict(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=2)
    code, out, _ = invoke("plan", str(repo), "--context-window", "256", "--no-local")
    assert code == 3
    assert "does-not-fit" in out
    for contradiction in ("no rolling summary needed", "peak context", "$0.0000", "estimated time"):
        assert contradiction not in out
