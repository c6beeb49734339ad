"""Small shared helpers for the unit tests: a word counter and tiny prompt templates."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lessongen.data import FilePart
from lessongen.prompts import PromptSet, load_prompts


class WordCounter:
    """Counts whitespace-separated words: predictable numbers for policy tests."""

    encoding_name = "words"

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
