"""The in-process GGUF model: its counter's declared facts and a prompt too long for its window."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import assert_one_line_error
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.errors import DoesNotFitError
from lessongen.models.local import LocalModel, bundled_model_path, local_available
from lessongen.tokens.counter import OPENAI_FRAMING, TEMPLATE_ALLOWANCE, count_chat

pytestmark = pytest.mark.skipif(
    not local_available() or bundled_model_path() is None, reason="needs the local extra"
)


@pytest.fixture(scope="module")
def small() -> LocalModel:
    path = bundled_model_path()
    assert path is not None
    return LocalModel(path, window=256)


def test_a_prompt_longer_than_the_window_is_a_does_not_fit_error(small: LocalModel) -> None:
    messages = [{"role": "user", "content": "explain " * 400}]
    with pytest.raises(DoesNotFitError) as caught:
        small.complete(messages, 16, None)
    assert "the window 256" in caught.value.one_line()


def test_a_gguf_tokenizer_gets_the_template_allowance_not_openai_framing(small: LocalModel) -> None:
    assert small.framing == TEMPLATE_ALLOWANCE != OPENAI_FRAMING
    assert not small.line_additive and not small.process_safe
    messages = [{"role": "system", "content": "You explain code."}, {"role": "user", "content": "Hi"}]
    contents = small.count("You explain code.") + small.count("Hi")
    roles = small.count("system") + small.count("user")
    assert count_chat(small, messages) == contents + roles + 2 * 4 + 4


def _junk(path: Path) -> None:
    path.write_bytes(b"not a model at all\n" * 10)


def _cut_short(path: Path) -> None:
    source = bundled_model_path()
    assert source is not None
    with source.open("rb") as handle:
        path.write_bytes(handle.read(1 << 20))  # a real GGUF header, then nothing


def _fifo(path: Path) -> None:
    os.mkfifo(path)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (_junk, "it does not start with the GGUF signature"),
        (_cut_short, "llama.cpp cannot load it"),
        (_fifo, "a FIFO, not a regular file"),
    ],
)
def test_model_path_that_is_not_a_gguf_model_is_one_line(
    tmp_path: Path, make: Callable[[Path], None], why: str
) -> None:
    model = tmp_path / "model.gguf"
    make(model)
    (tmp_path / "repo").mkdir()
    (tmp_path / "repo" / "a.py").write_text("x = 1\n")
    result = CliRunner().invoke(app, ["plan", str(tmp_path / "repo"), "--local", "--model-path", str(model)])
    line = assert_one_line_error(result, 2, f"{model} is not a usable GGUF model: {why}")
    assert "--model-path" in line
