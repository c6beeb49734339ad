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


@pytest.mark.parametrize(
    ("fault", "what"),
    [
        (Fault.no_choices(), "no choices"),
        (Fault.null_message(), "a choice without a message"),
        (Fault.html(), "an HTML page instead of JSON"),
        (Fault.event_stream(), "an event stream that was not asked for"),
        (Fault.deep_body(), "a JSON body nested too deeply"),
        (Fault.malformed(), "a body that is not valid JSON"),
    ],
    ids=["no-choices", "null-message", "html", "event-stream", "deep-body", "not-json"],
)
def test_each_kind_of_malformed_answer_is_named_and_asked_again_after_a_growing_pause(
    fake_openai: FakeServer, fault: Fault, what: str
) -> None:
    pauses: list[float] = []
    fake_openai.script(fault, fault, fault)
    model = OpenAIChatModel(
        "gpt-4o-mini", Secret("sk-local"), fake_openai.base_url, 5.0, 0, pause=pauses.append
    )
    with pytest.raises(ModelError) as caught:
        model.complete(HI, 16, None)
    model.close()
    assert caught.value.message.endswith(f"returned malformed responses 3 times ({what})")
    assert "--resume" in caught.value.hint
    assert pauses == [0.25, 0.5]  # two retries (the default), each after a longer pause
    sent = fake_openai.chat_requests
    assert [r.fault for r in sent] == [fault.kind] * 3 and sent[0].body == sent[1].body == sent[2].body


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
