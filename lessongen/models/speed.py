"""How fast a local model reads and writes on this machine: measured once by a short probe, then remembered."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from lessongen.shared.cache import Cache

SPEED_NAMESPACE = "local-speed"
MAX_SPEEDS = 100  # (model file, machine) pairs whose measured speed is remembered


@dataclass(frozen=True)
class Speed:
    """Tokens a second read (prompt) and written (reply), the fixed cost of a call, and when measured."""

    prompt_per_second: float
    reply_per_second: float
    seconds_per_call: float
    measured_on: str  # the probe's date, ISO 8601
    remembered: bool = False  # True when it came from the cache rather than a probe just now


@dataclass(frozen=True)
class Timings:
    """What the probe timed: a tiny call, a longer prompt, a longer reply (seconds and token counts)."""

    tiny_seconds: float
    tiny_prompt: int
    prompt_seconds: float
    prompt_tokens: int
    reply_seconds: float
    reply_tokens: int

    def speed(self, measured_on: str) -> Speed:
        """The speeds these timings imply: each extra token's time over the tiny call's."""
        base = max(self.tiny_seconds, 1e-6)
        read = self.prompt_seconds - base
        written = self.reply_seconds - base
        extra_prompt = self.prompt_tokens - self.tiny_prompt
        # A noisy difference (another process took the CPU for the tiny call) falls back to the plain ratio.
        prompt_rate = extra_prompt / read if read > 0 else self.prompt_tokens / max(self.prompt_seconds, 1e-6)
        reply_rate = (
            self.reply_tokens / written if written > 0 else self.reply_tokens / max(self.reply_seconds, 1e-6)
        )
        return Speed(prompt_rate, reply_rate, base, measured_on)


def speed_key(model_file: Path, threads: int | None) -> str:
    """One model file (by path, size and modification time) on one machine with one thread count."""
    try:
        info = model_file.stat()
        file_id = f"{model_file.resolve()}:{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        file_id = str(model_file)
    machine = ":".join((platform.node(), platform.machine(), platform.processor(), str(os.cpu_count())))
    return f"{file_id}|{machine}|threads={threads or 'default'}"


def _from_cache(value: Any) -> Speed | None:
    if not isinstance(value, Mapping):
        return None
    try:
        speed = Speed(
            float(value["prompt_per_second"]),
            float(value["reply_per_second"]),
            float(value["seconds_per_call"]),
            str(value["measured_on"]),
            remembered=True,
        )
    except (KeyError, TypeError, ValueError):
        return None  # a row of another shape: measured again
    usable = speed.prompt_per_second > 0 and speed.reply_per_second > 0 and speed.seconds_per_call >= 0
    return speed if usable else None


def remembered_speed(measure: Callable[[], Speed], key: str, cache: Cache, again: bool = False) -> Speed:
    """The speed remembered for `key`, else (or when `again`) measured now and remembered."""
    if not again:
        entry = cache.get(key)
        found = _from_cache(entry.value) if entry else None
        if found is not None:
            cache.put_many({}, touched=[key])
            return found
    speed = measure()
    cache.put(key, asdict(replace(speed, remembered=False)))
    return speed
