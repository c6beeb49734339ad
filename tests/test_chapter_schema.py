"""The bounded chapter schema: what grammar-constrained models and strict servers are held to."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from fake_openai import ChapterResponder, FakeServer
from helpers import make_repo
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.script.chapter_schema import MAX_ANCHORS, MAX_ENUM_PATHS, TITLE_CHARS, chapter_schema
from lessongen.script.scenes import parse_chapter

KEY = "sk-test-" + "s" * 24


def chapter(paths: list[str], scenes: int = 1) -> dict[str, object]:
    return {
        "title": "A chapter",
        "scenes": [
            {
                "id": f"s{i}",
                "title": "A scene",
                "narration": "Words.",
                "anchors": [{"path": p, "start_line": 1, "end_line": 2} for p in paths],
                "files": paths,
                "visual_notes": "",
            }
            for i in range(scenes)
        ],
    }


def test_a_valid_chapter_validates_and_parses() -> None:
    schema = chapter_schema(["a.py", "b.py"], 2)
    reply = chapter(["a.py", "b.py"], scenes=2)
    jsonschema.validate(reply, schema)
    assert len(parse_chapter(json.dumps(reply), "batch 1").scenes) == 2


@pytest.mark.parametrize(
    ("reply", "why"),
    [
        (chapter(["elsewhere.py"]), "is not one of"),  # anchors only into the batch's own files
        (chapter(["a.py"], scenes=3), "is too long"),  # no more scenes than asked
        (chapter(["a.py"] * (MAX_ANCHORS + 1)), "is too long"),  # a bounded number of anchors
        ({**chapter(["a.py"]), "title": "x" * (TITLE_CHARS + 1)}, "is too long"),  # bounded titles
        ({**chapter(["a.py"]), "extra": 1}, "Additional properties"),
        ({"title": "t", "scenes": []}, "should be non-empty"),
    ],
)
def test_the_schema_bounds_what_a_model_may_write(reply: dict[str, object], why: str) -> None:
    with pytest.raises(jsonschema.ValidationError, match=why):
        jsonschema.validate(reply, chapter_schema(["a.py", "b.py"], 2))


def test_many_paths_fall_back_to_bounded_strings() -> None:
    paths = [f"m{i}.py" for i in range(MAX_ENUM_PATHS + 1)]
    anchor = chapter_schema(paths, 1)["properties"]["scenes"]["items"]["properties"]["anchors"]["items"]
    assert "enum" not in anchor["properties"]["path"] and anchor["properties"]["path"]["maxLength"] > 0


def test_each_call_sends_its_own_batch_paths_and_scene_count(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    out = tmp_path / "lesson"
    with FakeServer(responder=ChapterResponder(scene_tokens=250)) as server:
        args = ["run", str(repo), "--no-git", "--output", str(out), "--max-batch-tokens", "600"]
        result = CliRunner().invoke(
            app, [*args, "--base-url", server.base_url], env={"OPENAI_API_KEY": KEY, "COLUMNS": "120"}
        )
        assert result.exit_code == 0, result.stderr
        requests = server.chat_requests
    plan = json.loads((out / "run.json").read_text())
    batches = [c for c in plan["calls"] if c["kind"] == "batch"]
    assert len(batches) > 1
    for request in requests[: len(batches)]:
        schema = request.body["response_format"]["json_schema"]["schema"]
        scene = schema["properties"]["scenes"]
        sent = {p.split(" (part")[0] for p in _paths(request.messages[-1]["content"])}
        assert set(scene["items"]["properties"]["anchors"]["items"]["properties"]["path"]["enum"]) == sent
        assert scene["maxItems"] == 1  # small batches ask for one scene


def _paths(content: str) -> list[str]:
    import re

    return re.findall(r'<file path="([^"]+)"', content)
