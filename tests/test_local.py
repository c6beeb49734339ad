"""The in-process GGUF model: its counter's declared facts and a prompt too long for its window."""

from __future__ import annotations

import pytest

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
