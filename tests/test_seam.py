"""The model seam's values: a completion to JSON and back, and what is not a completion."""

from __future__ import annotations

import json

import pytest

from lessongen.models.seam import BadCompletion, Completion, Usage


@pytest.mark.parametrize(
    "completion",
    [
        Completion("{}", "stop", Usage(10, 2, 1), attempts=3, response_format="json_schema"),
        Completion("text", "length", None),
    ],
)
def test_a_completion_round_trips_through_json(completion: Completion) -> None:
    assert Completion.from_json(json.loads(json.dumps(completion.as_json()))) == completion


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"text": None}, "`text` missing or not a text"),
        ({"usage": {"prompt_tokens": 1}}, "`usage` is not three token counts"),
        ({"usage": {"prompt_tokens": -1, "completion_tokens": 0, "cached_tokens": 0}}, "`usage`"),
        ({"attempts": True}, "`attempts` is not a number"),
        ({"response_format": 3}, "`response_format` is not a text"),
    ],
)
def test_another_shape_is_a_bad_completion(change: dict[str, object], problem: str) -> None:
    data = Completion("t", "stop", Usage(1, 1, 0)).as_json() | change
    with pytest.raises(BadCompletion, match=problem):
        Completion.from_json(data)
