import hashlib
import shutil
from pathlib import Path

import pytest

import lessongen.tokens.counter as tokens
from lessongen.tokens.counter import TokenCounter, count_chat, encoding_name_for_model, load_encoding

# The rank files that ship inside the package: the tests need nothing beside the repository.
SHIPPED = Path(tokens.__file__).parent / "tokenizer_files"

# The OpenAI cookbook's example conversation ("How to count tokens with tiktoken").
COOKBOOK = [
    {
        "role": "system",
        "content": "You are a helpful, pattern-following assistant that translates corporate jargon "
        "into plain English.",
    },
    {"role": "system", "name": "example_user", "content": "New synergies will help drive top-line growth."},
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Things working well together will increase revenue.",
    },
    {
        "role": "system",
        "name": "example_user",
        "content": "Let's circle back when we have more bandwidth to touch base on opportunities for "
        "increased leverage.",
    },
    {
        "role": "system",
        "name": "example_assistant",
        "content": "Let's talk later when we're less busy about how to do better.",
    },
    {
        "role": "user",
        "content": "This late pivot means we don't have time to boil the ocean for the client deliverable.",
    },
]


@pytest.mark.parametrize(
    ("model", "expected"),
    [("gpt-3.5-turbo", 129), ("gpt-4", 129), ("gpt-4o", 124), ("gpt-4o-mini", 124)],
)
def test_cookbook_counts(model: str, expected: int) -> None:
    assert count_chat(TokenCounter.for_model(model), COOKBOOK) == expected


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("o3", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("gpt-3.5-turbo-0125", "cl100k_base"),
        ("gpt-4o-2024-08-06", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-4.5-preview-new", "o200k_base"),
        ("gpt-4-0314-custom", "cl100k_base"),
        ("llama3.1:8b", "o200k_base"),
        ("SmolLM2-135M-Instruct", "o200k_base"),
    ],
)
def test_encoding_fallback(model: str, encoding: str) -> None:
    assert encoding_name_for_model(model) == encoding


def test_endoftext_is_counted_not_rejected() -> None:
    counter = TokenCounter.for_model("gpt-4o")
    text = "before <|endoftext|> after <|endofprompt|>"
    ids = load_encoding("o200k_base").encode_ordinary(text)
    assert 199999 not in ids and 200018 not in ids  # counted as plain text, never as special tokens
    assert counter.count(text) == len(ids) > 8


@pytest.mark.parametrize("name", ["o200k_base", "cl100k_base"])
def test_shipped_encoding_matches_tiktoken(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user's TIKTOKEN_CACHE_DIR still works, and gives the same tokens as the shipped files."""
    import tiktoken
    import tiktoken.registry

    url = f"https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
    # tiktoken checks the published sha256 of a cached file, so its reference is the published encoding.
    shutil.copy(SHIPPED / f"{name}.tiktoken", tmp_path / hashlib.sha1(url.encode()).hexdigest())
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(tiktoken.registry, "ENCODINGS", {})  # force tiktoken to load from the user cache
    reference = tiktoken.get_encoding(name)
    ours = load_encoding(name)
    sample = Path(__file__).read_text() + " 日本語 <|endoftext|> ünïcödé \t\r\n  x"
    assert ours.encode_ordinary(sample) == reference.encode_ordinary(sample)
    assert ours.special_tokens_set == reference.special_tokens_set


def test_shipped_files_are_the_published_ones() -> None:
    for name, digest in tokens._SHIPPED.items():
        data = (SHIPPED / f"{name}.tiktoken").read_bytes()
        assert hashlib.sha256(data).hexdigest() == digest


def test_count_many_matches_count() -> None:
    counter = TokenCounter.for_model("gpt-4o-mini")
    texts = [f"def f{i}(x):\n    return x * {i}\n" * (i + 1) for i in range(40)]
    assert counter.count_many(texts) == [counter.count(t) for t in texts]
