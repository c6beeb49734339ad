"""prepare() and build_plan(): the stages up to the first call, with their collaborators passed in."""

from __future__ import annotations

from pathlib import Path

from helpers import make_repo, no_git, seeded_cache

from lessongen.config.groups import HISTORY_KEYS
from lessongen.config.settings import resolve_settings
from lessongen.models.backend import choose_backend
from lessongen.pipeline import Caches, build_plan, prepare
from lessongen.session import manifest


def test_prepare_takes_its_backend_git_probe_and_caches(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=3)
    cache_dir = seeded_cache(tmp_path / "cache")
    settings = resolve_settings(
        repo, {"local": False, "cache_dir": str(cache_dir), "max_batch_tokens": 800}, {}
    )
    backend = choose_backend(settings)
    (cache_dir / "cache.sqlite").unlink(missing_ok=True)  # choosing the backend remembers the day's prices
    in_memory = Caches.open(None, backend.counter.encoding_name)
    prepared = prepare(settings, backend=backend, git_probe=no_git, caches=in_memory)
    assert prepared.backend is backend and prepared.model is backend.info
    assert not (cache_dir / "cache.sqlite").exists()  # the caches given were used, not the folder's
    assert len(prepared.parts) >= 3
    again = prepare(settings, backend=backend, git_probe=no_git)
    assert (cache_dir / "cache.sqlite").exists()  # the production default: the cache folder
    assert [(p.path, p.tokens) for p in again.parts] == [(p.path, p.tokens) for p in prepared.parts]


def test_the_plan_refers_to_what_was_prepared(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=3)
    settings = resolve_settings(repo, {"local": False, "max_cost": 5, "secrets": "skip-file"}, {})
    prepared = prepare(settings, git_probe=no_git)
    plan = build_plan(prepared)
    assert plan.prepared is prepared
    assert (plan.scan, plan.batches, plan.policy) == (prepared.scan, prepared.batches, prepared.policy)
    assert (plan.max_cost, plan.secrets_mode.value) == (5.0, "skip-file")


def test_the_resume_manifest_holds_every_history_setting(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", modules=2)
    settings = resolve_settings(repo, {"local": False, "keep_recent": 2, "summary_reply_tokens": 700}, {})
    saved = manifest(prepare(settings, git_probe=no_git))["settings"]
    assert set(HISTORY_KEYS) <= set(saved)
    assert (saved["keep_recent"], saved["summary_reply_tokens"], saved["secrets"]) == (2, 700, "redact")
