"""The fake OpenAI server, driven over real HTTP by the real openai client."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

import openai
import pytest
from fake_openai import (
    ChapterResponder,
    FakeServer,
    Fault,
    RecordedRequest,
    Reply,
    cached_tokens,
    prompt_token_ids,
)

from lessongen.tokens.counter import (
    REPLY_PRIMING,
    TokenCounter,
    count_chat,
    encoding_name_for_model,
    load_encoding,
)

API_KEY = "sk-" + "test-DO-NOT-RECORD-4f1c"  # built at run time: no key-shaped literal
MODEL = "gpt-4o-mini"
COUNTER = TokenCounter.for_model(MODEL)


def client(server: FakeServer, **options: Any) -> openai.OpenAI:
    options.setdefault("max_retries", 0)
    return openai.OpenAI(api_key=API_KEY, base_url=server.base_url, **options)


def ask(server: FakeServer, messages: list[dict[str, str]], **params: Any) -> Any:
    with client(server) as api:
        return api.chat.completions.create(model=MODEL, messages=messages, **params)  # type: ignore[arg-type]


def batch(*files: tuple[str, str]) -> str:
    tags = [
        f'<file path="{path}" id="id{i}">\n{text}</file id="id{i}">\n' for i, (path, text) in enumerate(files)
    ]
    return "Part 1 of 1 of the repository.\n" + "".join(tags)


def long_text(words: int, seed: str = "w") -> str:
    return " ".join(f"{seed}{i}" for i in range(words))


def test_plain_call_reports_the_usage_lessongen_predicts(fake_openai: FakeServer) -> None:
    messages = [
        {"role": "system", "content": "You teach."},
        {"role": "user", "content": batch(("a.py", "x = 1\n"))},
    ]
    reply = ask(fake_openai, messages)
    content = reply.choices[0].message.content
    assert reply.usage.prompt_tokens == count_chat(COUNTER, messages)
    assert reply.usage.completion_tokens == COUNTER.count(content)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.usage.prompt_tokens_details.cached_tokens == 0
    assert reply.choices[0].finish_reason == "stop"
    [seen] = fake_openai.requests
    assert (seen.call, seen.status, seen.prompt_tokens, seen.messages) == (
        1,
        200,
        reply.usage.prompt_tokens,
        messages,
    )


@pytest.mark.parametrize("model", [MODEL, "gpt-4"])
def test_rendered_prompt_is_as_long_as_count_chat(model: str) -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "name": "ada", "content": "héllo <|endoftext|> world"},
        {"role": "assistant", "content": ""},
    ]
    encoding = load_encoding(encoding_name_for_model(model))
    ids = prompt_token_ids(encoding.encode_ordinary, messages)
    assert len(ids) == count_chat(TokenCounter.for_model(model), messages)


@pytest.mark.parametrize(("prefix", "cached"), [(0, 0), (1023, 0), (1024, 1024), (1151, 1024), (1152, 1152)])
def test_cache_rule_counts_whole_128_token_steps_from_1024(prefix: int, cached: int) -> None:
    assert cached_tokens(prefix) == cached


def test_a_call_extending_an_earlier_one_reports_cached_tokens(fake_openai: FakeServer) -> None:
    first = [{"role": "system", "content": long_text(900)}, {"role": "user", "content": long_text(400, "u")}]
    answer = ask(fake_openai, first).choices[0].message.content
    second = [*first, {"role": "assistant", "content": answer}, {"role": "user", "content": "Next part."}]
    usage = ask(fake_openai, second).usage
    # The extension shares the whole first prompt except its reply priming.
    shared = count_chat(COUNTER, first) - REPLY_PRIMING
    assert shared >= 1300
    assert usage.prompt_tokens_details.cached_tokens == 1024 + (shared - 1024) // 128 * 128
    assert usage.prompt_tokens == count_chat(COUNTER, second)
    other = [{"role": "system", "content": "Different."}, *first[1:]]
    assert ask(fake_openai, other).usage.prompt_tokens_details.cached_tokens == 0
    assert [r.cached_tokens for r in fake_openai.requests] == [
        0,
        usage.prompt_tokens_details.cached_tokens,
        0,
    ]


def test_a_prompt_over_the_window_is_refused_like_openai(fake_openai: FakeServer) -> None:
    messages = [{"role": "user", "content": "hello there"}]
    prompt = count_chat(COUNTER, messages)
    fake_openai.context_window = prompt + 100
    assert ask(fake_openai, messages, max_completion_tokens=100).choices[0].finish_reason == "stop"
    with pytest.raises(openai.BadRequestError) as caught:
        ask(fake_openai, messages, max_tokens=101)
    assert caught.value.status_code == 400
    assert caught.value.code == "context_length_exceeded"
    assert caught.value.param == "messages"
    assert f"maximum context length is {prompt + 100} tokens" in caught.value.message
    assert [r.status for r in fake_openai.requests] == [200, 400]


def test_context_exceeded_can_be_scripted(fake_openai: FakeServer) -> None:
    fake_openai.script(Fault.context_exceeded())
    with pytest.raises(openai.BadRequestError) as caught:
        ask(fake_openai, [{"role": "user", "content": "hi"}])
    assert caught.value.code == "context_length_exceeded"


def test_the_client_retries_a_429_after_retry_after(fake_openai: FakeServer) -> None:
    fake_openai.script(Fault.rate_limited("0.1"))
    answers: list[Any] = []  # the HTTP responses that reached the client, the 429 included
    transport = openai.DefaultHttpxClient(event_hooks={"response": [answers.append]})
    with client(fake_openai, max_retries=1, http_client=transport) as api:
        reply = api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert [(a.status_code, a.headers.get("retry-after")) for a in answers] == [(429, "0.1"), (200, None)]
    assert reply.choices[0].message.content
    first, second = fake_openai.requests
    assert (first.status, first.fault, second.status, second.fault) == (429, "rate_limited", 200, None)
    assert second.headers["x-stainless-retry-count"] == "1"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.rate_limited(), openai.RateLimitError),
        (Fault.server_error(), openai.InternalServerError),
        (Fault.unavailable(), openai.InternalServerError),
        (Fault.reset(), openai.APIConnectionError),
        (Fault.disconnect(), openai.APIConnectionError),
        (Fault.timeout(1.0), openai.APITimeoutError),
    ],
    ids=lambda value: value.kind if isinstance(value, Fault) else value.__name__,
)
def test_faults_reach_the_client_as_its_own_errors(
    fake_openai: FakeServer, fault: Fault, error: type[Exception]
) -> None:
    fake_openai.script(None, fault)
    with client(fake_openai, timeout=0.3) as api:
        api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        with pytest.raises(error):
            api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert [r.fault for r in fake_openai.requests] == [None, fault.kind, None]


def test_a_malformed_body_raises_a_json_error(fake_openai: FakeServer) -> None:
    fake_openai.script(Fault.malformed())
    with pytest.raises((json.JSONDecodeError, openai.APIResponseValidationError)):
        ask(fake_openai, [{"role": "user", "content": "hi"}])
    assert fake_openai.requests[0].status == 200


def test_truncation_is_reported_as_finish_reason_length(fake_openai: FakeServer) -> None:
    fake_openai.responder = lambda request: Reply(long_text(100))
    messages = [{"role": "user", "content": "hi"}]
    full = ask(fake_openai, messages).choices[0].message.content
    fake_openai.script(Fault.truncated())
    cut = ask(fake_openai, messages)
    assert cut.choices[0].finish_reason == "length"
    assert full.startswith(cut.choices[0].message.content)
    assert (
        cut.usage.completion_tokens
        == COUNTER.count(cut.choices[0].message.content)
        <= COUNTER.count(full) // 2
    )
    capped = ask(fake_openai, messages, max_completion_tokens=10)
    assert (capped.choices[0].finish_reason, capped.usage.completion_tokens) == ("length", 10)


def test_the_authorization_value_is_never_recorded(fake_openai: FakeServer) -> None:
    fake_openai.script(Fault.server_error(), Fault.reset())
    with client(fake_openai) as api:
        for _ in range(3):
            with contextlib.suppress(openai.APIError):
                api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
        api.models.list()
    requests = fake_openai.requests
    assert len(requests) == 4
    assert all(r.had_auth and "authorization" not in r.headers for r in requests)
    assert "DO-NOT-RECORD" not in repr(requests)


def test_models_lists_the_configured_model() -> None:
    with FakeServer(model="local-model") as server, client(server) as api:
        assert [m.id for m in api.models.list()] == ["local-model"]
        assert server.requests[0].call == 0


def test_the_default_model_writes_a_chapter_about_the_files_sent(fake_openai: FakeServer) -> None:
    long_file = '<file path="big &amp; old.py" part="2 of 3" lines="41-80" id="p2">\n' + "x\n" * 40
    message = batch(("a.py", "1\n2\n3\n4\n5\n6\n7\n"), ("b.md", "one\n")) + long_file + '</file id="p2">\n'
    chapter = json.loads(ask(fake_openai, [{"role": "user", "content": message}]).choices[0].message.content)
    assert [(s["files"], s["anchors"]) for s in chapter["scenes"]] == [
        (["a.py"], [{"path": "a.py", "start_line": 1, "end_line": 5}]),
        (["b.md"], [{"path": "b.md", "start_line": 1, "end_line": 1}]),
        (["big & old.py"], [{"path": "big & old.py", "start_line": 41, "end_line": 45}]),
    ]
    assert all(s["id"] and s["title"] and s["narration"] and s["visual_notes"] for s in chapter["scenes"])
    history = [{"role": "user", "content": message}, {"role": "assistant", "content": "{}"}]
    summary = ask(fake_openai, [*history, {"role": "user", "content": "Write a compact summary."}])
    assert "a.py, b.md, big & old.py" in summary.choices[0].message.content
    intro = ask(fake_openai, [*history, {"role": "user", "content": "Now write the introduction chapter."}])
    [scene] = json.loads(intro.choices[0].message.content)["scenes"]
    assert (scene["anchors"], scene["files"]) == ([], [])


@pytest.mark.parametrize("size", [200, 3000])
def test_reply_size_is_configurable(size: int) -> None:
    with FakeServer(responder=ChapterResponder(reply_tokens=size)) as server:
        reply = ask(server, [{"role": "user", "content": batch(("a.py", "x = 1\n"))}])
    assert size <= reply.usage.completion_tokens <= size + 2
    assert json.loads(reply.choices[0].message.content)["scenes"]


def test_a_scripted_responder_sees_the_recorded_request(fake_openai: FakeServer) -> None:
    seen: list[RecordedRequest] = []

    def responder(request: RecordedRequest) -> Reply:
        seen.append(request)
        return Reply("partial", finish_reason="length")

    fake_openai.responder = responder
    reply = ask(fake_openai, [{"role": "user", "content": "hi"}])
    assert (reply.choices[0].message.content, reply.choices[0].finish_reason) == ("partial", "length")
    assert (seen[0].call, seen[0].model, seen[0].status, seen[0].had_auth) == (1, MODEL, 200, True)


def test_a_failing_responder_fails_the_test_at_exit() -> None:
    def responder(request: RecordedRequest) -> Reply:
        raise KeyError("bug")

    with (
        pytest.raises(RuntimeError, match="failed 1 time"),
        FakeServer(responder=responder) as server,
        pytest.raises(openai.InternalServerError),
    ):
        ask(server, [{"role": "user", "content": "hi"}])


def test_concurrent_calls_are_all_recorded(fake_openai: FakeServer) -> None:
    with client(fake_openai) as api:
        threads = [
            threading.Thread(
                target=api.chat.completions.create,
                kwargs={"model": MODEL, "messages": [{"role": "user", "content": "hi"}]},
            )
            for _ in range(8)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(r.call for r in fake_openai.requests) == list(range(1, 9))


def test_stop_is_quick_with_an_idle_connection_and_a_delayed_answer() -> None:
    # A stop that waited out the 30 s delay would let the answer through: the call would not fail.
    server = FakeServer(faults=[None, Fault.timeout(30)]).start()
    errors: list[Exception] = []
    with client(server) as api:
        api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])

        def waiting_call() -> None:
            try:
                api.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
            except openai.APIConnectionError as exc:
                errors.append(exc)

        caller = threading.Thread(target=waiting_call)
        caller.start()
        while len(server.requests) < 2:
            time.sleep(0.01)
        server.stop()
        caller.join()
    assert len(errors) == 1
