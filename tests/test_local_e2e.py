"""End to end against a real model: llama-cpp-python's OpenAI-compatible server, and in-process.

SmolLM2-135M writes weak prose; these tests check that the machinery around it is exact. They need
the `local` extra and take a minute or two: `python -m pytest -m "not slow"` skips them.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from helpers import write
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.models.local import bundled_model_path, local_available

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not local_available() or bundled_model_path() is None, reason="needs the local extra"),
]

WINDOW = 4096
SCHEMA = json.loads((Path(__file__).parents[1] / "lessongen" / "script" / "script.schema.json").read_text())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` with the bundled SmolLM2 on 127.0.0.1, stopped afterwards."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(bundled_model_path()),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(WINDOW),
        "--model_alias",
        "smollm2",
        "--verbose",
        "False",
        "--seed",
        "7",
    ]
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/v1/models", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("llama_cpp.server did not start") from None
                time.sleep(0.3)
        yield f"{base}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _repo(root: Path) -> Path:
    (root / "calc").mkdir(parents=True)
    (root / "README.md").write_text("# calc\n\nA tiny calculator.\n")
    (root / "calc" / "ops.py").write_text(
        '"""Arithmetic."""\n\n\ndef add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n'
    )
    return root


def _check(repo: Path, out: Path, window: int) -> dict[str, object]:
    script = json.loads((out / "script.json").read_text())
    jsonschema.validate(script, SCHEMA)
    run = json.loads((out / "run.json").read_text())
    calls = run["calls"]
    assert calls and all(c["usage_reported"] for c in calls)
    # Nothing over the window: the server never had to truncate (it refuses instead, which would fail).
    assert all(c["prompt_tokens"] + 256 <= window for c in calls)
    # Every reply is parsed, repaired or kept as a flagged scene: one chapter per batch, plus the intro.
    chapter_calls = [c for c in calls if c["kind"] in ("batch", "intro")]
    assert len(script["chapters"]) == len(chapter_calls)
    for chapter in script["chapters"]:
        for scene in chapter["scenes"]:
            if "flagged" in scene:
                assert scene["narration"]  # the raw reply is kept
            for anchor in scene["anchors"]:
                lines = (repo / anchor["path"]).read_text().splitlines()
                assert 1 <= anchor["start_line"] <= anchor["end_line"] <= len(lines)
    return run


def test_run_against_a_real_llama_cpp_server(llama_server: str, tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    out = tmp_path / "lesson"
    args = [
        "run",
        str(repo),
        "--base-url",
        llama_server,
        "--model",
        "smollm2",
        "--context-window",
        str(WINDOW),
        "--output",
        str(out),
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120"})  # default history settings
    assert result.exit_code == 0, result.stderr
    run = _check(repo, out, WINDOW)
    assert any("server's own tokenizer" in note for note in run["notes"])  # type: ignore[union-attr]
    # The ledger holds the server's own counts; our pre-flight estimate, counted with the server's
    # tokenizer, differs only by the chat template's framing (about a token per message).
    for call in run["calls"]:  # type: ignore[union-attr]
        assert abs(call["prompt_tokens"] - call["estimate_tokens"]) <= 4 * call["index"] + 10


def test_local_in_process_run_needs_no_key_or_server(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    out = tmp_path / "lesson"
    args = [
        "run",
        str(repo),
        "--local",
        "--context-window",
        str(WINDOW),
        "--max-reply-tokens",
        "256",
        "--output",
        str(out),
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120", "LESSONGEN_LOCAL": ""})
    assert result.exit_code == 0, result.stderr
    run = _check(repo, out, WINDOW)
    assert run["server"].startswith("local ")


FIVE_FILES = {
    "README.md": "# calc\n\nA tiny calculator with a command line.\n",
    "calc/__init__.py": '"""A tiny calculator."""\n\nfrom calc.ops import add, mul\n\n__all__ = ["add", "mul"]\n',
    "calc/ops.py": (
        '"""Arithmetic."""\n\n\ndef add(a: float, b: float) -> float:\n    """The sum."""\n    return a + b\n\n\n'
        'def mul(a: float, b: float) -> float:\n    """The product."""\n    return a * b\n'
    ),
    "calc/cli.py": (
        '"""Command line: calc add 1 2."""\n\nimport sys\n\nfrom calc.ops import add, mul\n\n'
        'OPS = {"add": add, "mul": mul}\n\n\ndef main(argv: list[str]) -> int:\n    op, a, b = argv\n'
        "    print(OPS[op](float(a), float(b)))\n    return 0\n"
    ),
    "tests/test_ops.py": "from calc.ops import add, mul\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
}


def test_the_embedded_default_writes_parsed_chapters_for_five_files(tmp_path: Path) -> None:
    # As a new user would: the local extra, no key, no server, every setting at its default. The
    # bounded schema (scene, anchor and file counts, string lengths, the batch's own paths) keeps
    # the weak model to valid chapters.
    repo = write(tmp_path / "repo", FIVE_FILES)
    out = tmp_path / "lesson"
    args = ["run", str(repo), "--local", "--no-git", "--output", str(out)]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "120", "LESSONGEN_LOCAL": ""})
    assert result.exit_code == 0, result.stderr
    run = _check(repo, out, 8192)  # the in-process model's default window
    assert run["complete"] is True
    script = json.loads((out / "script.json").read_text())
    assert all("flagged" not in scene for chapter in script["chapters"] for scene in chapter["scenes"])
    paths = set(FIVE_FILES)
    assert all(a["path"] in paths for c in script["chapters"] for s in c["scenes"] for a in s["anchors"])


def test_local_is_the_default_without_key_or_server(tmp_path: Path) -> None:
    repo = _repo(tmp_path / "repo")
    result = CliRunner().invoke(app, ["plan", str(repo)], env={"COLUMNS": "120", "LESSONGEN_LOCAL": ""})
    assert result.exit_code == 0, result.stderr
    assert "using the local model" in result.stderr
    assert "SmolLM2" in result.stdout
