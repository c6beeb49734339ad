"""Small shared helpers for the unit tests: a word counter, tiny prompt templates, golden files."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import scanner_rules

from lessongen.conversation.prompts import PromptSet, load_prompts
from lessongen.repo.walk import GitView
from lessongen.shared.data import FilePart
from lessongen.tokens.counter import OPENAI_FRAMING


class WordCounter:
    """Counts whitespace-separated words: predictable numbers for policy tests."""

    encoding_name = "words"
    line_additive = False
    threads = 1
    framing = OPENAI_FRAMING  # the policy tests' numbers include OpenAI's per-message tokens
    process_safe = False

    def count(self, text: str) -> int:
        return len(text.split())

    def count_many(self, texts: Sequence[str]) -> list[int]:
        return [self.count(t) for t in texts]


TINY_TEMPLATES = {
    "system": "sys",
    "batch": "batch $number",
    "stub": "stub $number",
    "summary": "summarize $limit",
    "summary_context": "ctx $first $last",
    "folded": "folded $first $last",
    "intro": "intro $count",
    "repair": "repair $problem",
}


def tiny_prompts(folder: Path) -> PromptSet:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in TINY_TEMPLATES.items():
        (folder / f"{name}.md").write_text(text + "\n")
    return load_prompts(folder)


def part(path: str, words: int, digest: str | None = None) -> FilePart:
    text = " ".join(["w"] * words) + "\n"
    return FilePart(
        path=path, text=text, tokens=words, digest=digest or f"{abs(hash(path)):016x}", end_line=1
    )


def write(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Create each file (text or raw bytes) under `root`, with its folders."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


def no_git(root: Path) -> GitView | None:
    """A git probe for a machine without git: only the plain-checkout fallback applies."""
    return None


def make_repo(root: Path, modules: int = 6, lines: int = 60) -> Path:
    """A small real repository: a README, a package of modules and a test."""
    (root / "pkg").mkdir(parents=True)
    (root / "tests").mkdir()
    (root / "README.md").write_text("# shapes\n\nGeometry helpers used to test lessongen.\n")
    for i in range(modules):
        body = "".join(
            f"def area_{i}_{j}(w: float, h: float) -> float:\n    return w * h * {j}\n\n"
            for j in range(lines // 3)
        )
        (root / "pkg" / f"mod{i}.py").write_text(f'"""Module {i}."""\n\n' + body)
    (root / "tests" / "test_mod0.py").write_text(
        "from pkg.mod0 import area_0_1\n\n\ndef test_area():\n    assert area_0_1(2, 3) == 6\n"
    )
    return root


def assert_one_line_error(result: Any, code: int, needle: str) -> str:
    """A CLI result that failed with `code` and one `error:` line on stderr naming `needle`, no traceback."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    assert needle in errors[0], errors[0]
    return str(errors[0])


GOLDEN = Path(__file__).parent / "golden"
REGENERATE = (
    "LESSONGEN_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py tests/test_cli.py tests/test_advice.py"
)


PRICED_BY = re.compile(r"genai-prices \d+\.\d+\.\d+ \(\d{4}-\d{2}-\d{2}\)")


def undated(text: str) -> str:
    """Output with genai-prices' version and the day its prices were read replaced (both change)."""
    return PRICED_BY.sub("genai-prices <version> (<date>)", text)


@dataclass(frozen=True)
class Golden:
    """Compares whole outputs with the files under tests/golden/; `update` rewrites them instead."""

    update: bool

    def check(self, name: str, text: str) -> None:
        """Fail with a unified diff unless `text` equals tests/golden/<name>."""
        self.check_all({name: text})

    def check_all(self, outputs: Mapping[str, str]) -> None:
        """Compare each output with tests/golden/<name>; fail once, with the diff of every one that differs."""
        diffs = []
        for name, text in outputs.items():
            path = GOLDEN / name
            if self.update:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
                continue
            expected = path.read_text(encoding="utf-8") if path.exists() else ""
            if text != expected:
                old, new = expected.splitlines(keepends=True), text.splitlines(keepends=True)
                diffs.append("".join(difflib.unified_diff(old, new, f"tests/golden/{name}", "this run")))
        if diffs:
            pytest.fail(
                "output differs from its golden file (- golden, + this run). If the change is intended, "
                f"regenerate the golden files and review their diff:\n    {REGENERATE}\n" + "\n".join(diffs),
                pytrace=False,
            )


def seeded_cache(folder: Path) -> Path:
    """A cache folder of its own for a test, holding only the run's compiled scanner rules.

    Compiling them takes seconds of CPU; they do not depend on the test, and nothing else (token
    counts, windows, response formats, clean scans) is carried over.
    """
    return scanner_rules.seed(folder)
