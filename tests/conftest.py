"""Shared fixtures. Helpers that several test modules use live in helpers.py."""

from __future__ import annotations

import functools
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import scanner_rules
from helpers import Golden

if TYPE_CHECKING:
    from fake_openai import FakeServer

    from lessongen.repo.secrets import SecretScanner


_compiling: list[subprocess.Popen[bytes]] = []  # the background compile this worker started, if any


def _worker_shared_folder(config: pytest.Config) -> Path | None:
    """An xdist worker's folder shared with the run's other workers (its basetemp's parent), else None."""
    basetemp = config.getoption("basetemp", None)
    return Path(basetemp).parent if os.environ.get("PYTEST_XDIST_WORKER") and basetemp else None


def _rules_store(config: pytest.Config, shared: Path | None) -> Path | None:
    """Where the scanner's compiled rules are kept: pytest's cache folder (kept between runs) when it is on,
    else the run's shared folder."""
    cache = getattr(config, "cache", None)
    return cache.mkdir(f"lessongen-scanner-rules-{scanner_rules.key()}") if cache is not None else shared


def pytest_configure(config: pytest.Config) -> None:
    """The first xdist worker starts compiling the scanner's rules, unless they are kept, while the workers
    collect."""
    shared = _worker_shared_folder(config)
    store = _rules_store(config, shared)
    process = scanner_rules.start_compiling(shared, store) if shared and store else None
    if process is not None:
        _compiling.append(process)


def pytest_unconfigure(config: pytest.Config) -> None:
    for process in _compiling:
        process.wait()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slow end-to-end tests share one xdist group: they run one at a time, never two model servers at once."""
    for item in items:
        if item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.xdist_group("slow"))


@pytest.fixture(scope="session", autouse=True)
def _one_click_command_per_app() -> Iterator[None]:
    """typer's CliRunner builds the click command from the app on every invoke (typer evaluates every
    option's annotations again: ~8 ms of CPU); the app never changes, so each is built once, as the CLI does."""
    import typer.main
    import typer.testing

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(typer.testing, "_get_command", functools.cache(typer.main.get_command))
        yield


@pytest.fixture(scope="session")
def _update_golden() -> bool:
    """LESSONGEN_UPDATE_GOLDEN=1: rewrite the golden files (read before each test cleans the environment)."""
    return os.environ.get("LESSONGEN_UPDATE_GOLDEN") == "1"


@pytest.fixture
def golden(_update_golden: bool) -> Golden:
    """Compare whole outputs with tests/golden/ (see helpers.Golden)."""
    return Golden(_update_golden)


@pytest.fixture(autouse=True)
def _clean_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """No developer setting leaks into a test; caches go to a per-session temporary folder."""
    for name in list(os.environ):
        if name.startswith(("LESSONGEN_", "OPENAI_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LESSONGEN_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "lessongen-cache"))
    # Tests choose the local in-process model explicitly; the automatic fallback would depend on
    # whether the `local` extra happens to be installed.
    monkeypatch.setenv("LESSONGEN_LOCAL", "false")
    yield


@pytest.fixture
def sample_repo(tmp_path: Path) -> Path:
    """A small real repository on disk."""
    root = tmp_path / "sample"
    (root / "src" / "calc").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "README.md").write_text("# calc\n\nA tiny calculator used to test lessongen.\n")
    (root / "src" / "calc" / "__init__.py").write_text('"""calc package."""\n\nfrom calc.ops import add\n')
    (root / "src" / "calc" / "ops.py").write_text(
        "def add(a: int, b: int) -> int:\n    return a + b\n\n\ndef mul(a: int, b: int) -> int:\n    return a * b\n"
    )
    (root / "tests" / "test_ops.py").write_text(
        "from calc.ops import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n"
    )
    (root / ".gitignore").write_text("*.log\n")
    (root / "debug.log").write_text("noise\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0")
    return root


@pytest.fixture
def fake_openai() -> Iterator[FakeServer]:
    """A fake OpenAI-compatible server on 127.0.0.1 (see tests/fake_openai.py), stopped after the test."""
    from fake_openai import FakeServer

    with FakeServer() as server:
        yield server


@pytest.fixture(scope="session")
def secret_scanner(tmp_path_factory: pytest.TempPathFactory) -> SecretScanner:
    """The secret scanner of the session's cache folder (the rules are loaded once per process)."""
    from lessongen.repo.secret_scanner import ProviderScanner
    from lessongen.repo.secrets import SecretScanner

    return SecretScanner(ProviderScanner.in_cache(tmp_path_factory.getbasetemp() / "lessongen-cache"))


@pytest.fixture(scope="session", autouse=True)
def _session_cache(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Name the session's cache folder; an xdist worker seeds it with the run's compiled scanner rules
    and loads them now (they are compiled once per run, not once per worker)."""
    basetemp = tmp_path_factory.getbasetemp()
    shared = _worker_shared_folder(request.config)
    scanner_rules.use_folders(_rules_store(request.config, shared) or basetemp, basetemp / "lessongen-cache")
    if shared is not None:
        scanner_rules.compiled_rules()
