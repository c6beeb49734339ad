"""Counting with the server's tokenizer."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fake_local_servers import (
    LMStudioModel,
    LocalServer,
    OllamaModel,
    closed_port_url,
    fake_tokens,
    llama_cpp_python_server,
    llama_cpp_server,
    lmstudio_server,
    malformed_server,
    not_found_server,
    ollama_server,
    vllm_server,
)

from lessongen.errors import ModelError
from lessongen.tokens.counter import OPENAI_FRAMING, TEMPLATE_ALLOWANCE, Counter, count_chat
from lessongen.tokens.remote import RemoteCounter, probe_tokenizer

TEXTS = ["def add(a, b):\n    return a + b\n", "# Title\n\nSome words, with punctuation!", "x"]


def _counts(texts: list[str], seed: int = 0) -> list[int]:
    return [len(fake_tokens(t, seed)) for t in texts]


# ---- probing --------------------------------------------------------------------------------------


def test_llama_cpp_tokenize() -> None:
    with llama_cpp_server() as server:
        counter = probe_tokenizer(server.base_url, "m")
        assert counter is not None and counter.kind == "llama.cpp"
        assert counter.encoding_name.startswith("server:llama.cpp:")
        assert counter.count(TEXTS[0]) == len(fake_tokens(TEXTS[0]))
        assert counter.count_many(TEXTS) == _counts(TEXTS)
    # The vLLM body came first; llama-server answers it with an empty list, which is not taken for vLLM.
    assert [sorted(s.body) for s in server.seen[:2]] == [
        ["add_special_tokens", "model", "prompt"],
        ["add_special", "content"],
    ]


def test_vllm_tokenize() -> None:
    with vllm_server({"Qwen/Qwen2.5-7B-Instruct": 32768}) as server:
        counter = probe_tokenizer(server.base_url, "Qwen/Qwen2.5-7B-Instruct")
        assert counter is not None and counter.kind == "vllm"
        assert counter.encoding_name.startswith("server:vllm:")
        assert counter.count_many(TEXTS) == _counts(TEXTS)


def test_llama_cpp_python_tokenize_without_the_bos_token_it_adds() -> None:
    with llama_cpp_python_server() as server:
        counter = probe_tokenizer(server.base_url, "local-model")
        assert counter is not None and counter.kind == "llama-cpp-python"
        assert counter.count_many(TEXTS) == _counts(TEXTS)


def test_the_counter_is_a_lessongen_counter() -> None:
    with llama_cpp_server() as server:
        counter: Counter | None = probe_tokenizer(server.base_url, "m")
        assert isinstance(counter, RemoteCounter)


def test_the_empty_text_is_counted_without_asking() -> None:
    with llama_cpp_server() as server:
        counter = probe_tokenizer(server.base_url, "m")
        assert counter is not None
        asked = len(server.seen)
        assert counter.count("") == 0
        assert len(server.seen) == asked


def test_the_encoding_name_fingerprints_the_tokenizer() -> None:
    with llama_cpp_server(seed=0) as a, llama_cpp_server(seed=0) as b, llama_cpp_server(seed=7) as c:
        names = [probe_tokenizer(s.base_url, "m") for s in (a, b, c)]
    assert all(n is not None for n in names)
    first, second, third = (n.encoding_name for n in names if n is not None)
    assert first == second != third


@pytest.mark.parametrize(
    "make",
    [
        not_found_server,
        malformed_server,
        lambda: ollama_server({"m": OllamaModel()}),
        lambda: lmstudio_server([LMStudioModel("m")]),
    ],
)
def test_servers_without_a_tokenizer_endpoint(make: Callable[[], LocalServer]) -> None:
    with make() as server:
        assert probe_tokenizer(server.base_url, "m") is None


def test_a_vllm_server_that_does_not_know_the_model() -> None:
    with vllm_server({"other": 4096}) as server:
        assert probe_tokenizer(server.base_url, "m") is None


def test_an_unreachable_server_has_no_tokenizer() -> None:
    assert probe_tokenizer(closed_port_url(), "m") is None


def test_a_server_that_stops_answering_is_a_model_error() -> None:
    with llama_cpp_server() as server:
        counter = probe_tokenizer(server.base_url, "m")
    assert counter is not None
    with pytest.raises(ModelError, match="stopped answering"):
        counter.count("hello")


def test_the_key_goes_to_the_tokenizer_as_a_bearer_header() -> None:
    with vllm_server({"m": 4096}, api_key="sk-local") as server:
        counter = probe_tokenizer(server.base_url, "m", api_key="sk-local")
        assert counter is not None
        counter.count_many(TEXTS)
    assert server.seen and all(s.auth_ok for s in server.seen)


def test_a_server_tokenizer_gets_the_template_allowance_not_openai_framing() -> None:
    with llama_cpp_server() as server:
        counter = probe_tokenizer(server.base_url, "m")
        assert counter is not None
        assert counter.framing == TEMPLATE_ALLOWANCE != OPENAI_FRAMING
        messages = [{"role": "system", "content": TEXTS[0]}, {"role": "user", "content": TEXTS[1]}]
        roles = sum(_counts(["system", "user"]))
        assert count_chat(counter, messages) == sum(_counts(TEXTS[:2])) + roles + 2 * 4 + 4
