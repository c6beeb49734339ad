"""The openai-backed ChatModel against the fake server: what is retried as malformed, and what is not."""

from __future__ import annotations

import pytest
from fake_openai import FakeServer, Fault

from lessongen.config.fields import Secret
from lessongen.errors import ModelError
from lessongen.models import openai_chat
from lessongen.models.openai_chat import OpenAIChatModel

HI = [{"role": "user", "content": "hi"}]


def _model(server: FakeServer) -> OpenAIChatModel:
    return OpenAIChatModel("gpt-4o-mini", Secret("sk-local"), server.base_url, 5.0, 0, malformed_retries=1)


def test_a_malformed_body_is_retried_then_reported(fake_openai: FakeServer) -> None:
    fake_openai.script(Fault.malformed(), Fault.malformed())
    model = _model(fake_openai)
    with pytest.raises(ModelError) as caught:
        model.complete(HI, 16, None)
    model.close()
    assert "malformed responses 2 times" in caught.value.message
    assert len(fake_openai.chat_requests) == 2


def test_a_bug_in_reading_the_answer_is_not_retried_as_malformed(
    fake_openai: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise TypeError("a bug in lessongen")

    monkeypatch.setattr(openai_chat, "Completion", broken)
    model = _model(fake_openai)
    with pytest.raises(TypeError, match="a bug in lessongen"):
        model.complete(HI, 16, None)
    model.close()
    assert len(fake_openai.chat_requests) == 1
