"""The shared wording helpers."""

from __future__ import annotations

import pytest

from lessongen.shared.text import first_few


@pytest.mark.parametrize(
    ("items", "most", "more", "expected"),
    [
        ([], 3, " and {} more", ""),
        (["a", "b"], 3, " and {} more", "a, b"),
        (["a", "b", "c"], 3, " and {} more", "a, b, c"),
        (["a", "b", "c", "d", "e"], 3, " and {} more", "a, b, c and 2 more"),
        (["a", "b", "c"], 1, " (+{})", "a (+2)"),
        (["a", "b"], 0, " and {} more", " and 2 more"),
    ],
)
def test_first_few_names_the_first_and_counts_the_rest(
    items: list[str], most: int, more: str, expected: str
) -> None:
    assert first_few(items, most, more) == expected
