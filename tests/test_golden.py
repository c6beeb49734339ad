"""Golden files: the whole of script.md, script.json and run.json for one fixed run.

`lessongen run` in-process, the real openai client over HTTP to the fake server with its default
chapter responder, on a small repository written here. Only what must vary is normalised: the
temporary folder, the server's port and each call's seconds. After an intended change, regenerate
with `LESSONGEN_UPDATE_GOLDEN=1 python -m pytest tests/test_golden.py` and review the diff.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_openai import FakeServer
from helpers import Golden, seeded_cache, write
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.script.outputs import OWN_FILES

KEY = "sk-test-" + "g" * 24  # built at run time, never a real key

AREA = "".join(f"def area_{i}(w: float, h: float) -> float:\n    return w * h * {i}\n\n\n" for i in range(10))
PERIMETER = "".join(
    f"def perimeter_{i}(w: float, h: float) -> float:\n    return 2 * (w + h) + {i}\n\n\n" for i in range(10)
)
REPOSITORY: dict[str, str | bytes] = {
    "README.md": (
        "# shapes\n\nGeometry helpers: areas and perimeters.\n\n"
        "```python\nfrom shapes.area import area_1\n```\n\n<b>not markup</b> *nor emphasis*\n"
    ),
    "shapes/__init__.py": '"""Geometry helpers."""\n\nfrom shapes.area import area_1\n',
    "shapes/area.py": AREA,
    "shapes/perimeter.py": PERIMETER,
    "tests/test_area.py": "from shapes.area import area_1\n\n\ndef test_area():\n    assert area_1(2, 3) == 6\n",
    ".gitignore": "*.log\n",
    "build.log": "left out by .gitignore\n",
    "logo.png": b"\x89PNG\r\n\x1a\n\0\0",
}
SECONDS = re.compile(r'"seconds": [0-9.e-]+')


def normalise(text: str, tmp_path: Path, server: FakeServer) -> str:
    """The output with the temporary folder, the server's port and call durations replaced."""
    text = text.replace(server.base_url, "http://127.0.0.1:<port>/v1").replace(str(tmp_path), "<tmp>")
    return SECONDS.sub('"seconds": "<seconds>"', text)


def test_a_scripted_run_writes_the_golden_outputs(
    tmp_path: Path, golden: Golden, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "LESSONGEN_CACHE_DIR", str(seeded_cache(tmp_path / "cache"))
    )  # nothing remembered from other tests
    repo = write(tmp_path / "shapes", REPOSITORY)
    out = tmp_path / "lesson"
    argv = ["run", str(repo), "--no-git", "--output", str(out), "--max-batch-tokens", "300"]
    env = {"OPENAI_API_KEY": KEY, "COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
    with FakeServer() as server:
        result = CliRunner().invoke(app, [*argv, "--base-url", server.base_url], env=env)
        assert result.exit_code == 0, result.stderr
        outputs = {name: normalise((out / name).read_text(), tmp_path, server) for name in OWN_FILES}
    golden.check_all({f"run/{name}": text for name, text in outputs.items()})
