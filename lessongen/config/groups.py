"""The settings, in groups by what they steer; each field is the one home of its name, default and parser.

A field made with `setting()` is a key of the config file, `LESSONGEN_<KEY>` in the environment and
(where the CLI has one) a flag; everything that lists settings derives the list from these classes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import Field, dataclass, field, fields
from pathlib import Path
from typing import Any

from lessongen.config.fields import Secret, choice, flag, globs, number, path, secret, text, url, whole
from lessongen.models.catalog import ModelOverride
from lessongen.render.formats import DEFAULT_FORMATS, Format, parse_formats
from lessongen.repo.secrets import SecretsMode

_PARSE = "parse"
_KEY = "key"


def setting(default: Any, parse: Callable[[object], Any], key: str | None = None, shown: bool = True) -> Any:
    """A field that is a setting: read with `parse`, known as `key` (default: the field's name)."""
    return field(default=default, metadata={_PARSE: parse, _KEY: key}, repr=shown)


@dataclass(frozen=True)
class ModelSettings:
    """Which model, where it runs, and the facts that override the catalog."""

    name: str = setting("gpt-4o-mini", text, key="model")
    named: bool = False  # whether a model was named (the local fallback only applies when not)
    base_url: str | None = setting(None, url)
    api_key: Secret | None = setting(None, secret, shown=False)
    context_window: int | None = setting(None, whole(256))
    max_input_tokens: int | None = setting(None, whole(256))
    max_output_tokens: int | None = setting(None, whole(16))
    input_price: float | None = setting(None, number(0.0))
    cached_input_price: float | None = setting(None, number(0.0))
    output_price: float | None = setting(None, number(0.0))
    timeout: float = setting(120.0, number(1.0))
    max_retries: int = setting(5, whole(0))
    local: bool | None = setting(None, flag)  # True: in-process GGUF; False: never; None: when unconfigured
    model_path: Path | None = setting(None, path)
    fallback_context_window: int | None = setting(None, whole(256))
    refresh: bool = setting(False, flag)
    probe_speed: bool = setting(True, flag)  # a plan for a local model measures its speed once per machine
    overrides: Mapping[str, ModelOverride] = field(default_factory=dict)  # [models."name"] tables

    def facts(self) -> ModelOverride:
        """The model facts set directly (flags, environment or top-level config keys)."""
        return ModelOverride(
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            max_input_tokens=self.max_input_tokens,
            input_price=self.input_price,
            cached_input_price=self.cached_input_price,
            output_price=self.output_price,
        )


@dataclass(frozen=True)
class WalkSettings:
    """What is read from the repository and sent."""

    include: tuple[str, ...] = setting((), globs)
    exclude: tuple[str, ...] = setting((), globs)
    secrets: SecretsMode = setting(SecretsMode.REDACT, choice(SecretsMode))
    max_file_bytes: int = setting(1_000_000, whole(1))
    use_git: bool = setting(True, flag)


@dataclass(frozen=True)
class HistorySettings:
    """The history policy's settings: the policy and the resume manifest both take all of them."""

    keep_recent: int = setting(0, whole(0))
    summary_threshold: float = setting(0.85, number(0.1, 1.0))
    preflight_limit: float = setting(0.95, number(0.1, 1.0))
    max_reply_tokens: int = setting(4096, whole(16))
    reply_tokens: int = setting(1500, whole(1))
    summary_reply_tokens: int = setting(1000, whole(1))
    intro_reply_tokens: int = setting(1500, whole(1))
    max_batch_tokens: int = setting(24000, whole(256))


@dataclass(frozen=True)
class CapSettings:
    """Spending caps of a live run (the plan checks max_cost too)."""

    max_cost: float | None = setting(None, number(0.0))
    max_calls: int | None = setting(None, whole(1))


@dataclass(frozen=True)
class GateSettings:
    """The quality gate: when a finished run still fails (exit code 7) for what it produced."""

    strict: bool = setting(False, flag)
    max_dropped_anchors: float = setting(0.25, number(0.0, 1.0))  # share of the model's anchors


@dataclass(frozen=True)
class PathSettings:
    """Where lessongen reads its prompts and caches and writes the lesson."""

    output: Path = setting(Path("lesson"), path)
    prompts_dir: Path | None = setting(None, path)
    cache_dir: Path | None = setting(None, path)
    config_file: Path | None = None  # the file the settings were read from, if any


@dataclass(frozen=True)
class RenderSettings:
    """What a run renders into the output folder at its end (and `lessongen render` by default)."""

    formats: tuple[Format, ...] = setting(DEFAULT_FORMATS, parse_formats, key="render_formats")


GROUPS: tuple[type, ...] = (
    ModelSettings,
    WalkSettings,
    HistorySettings,
    CapSettings,
    GateSettings,
    PathSettings,
    RenderSettings,
)


@dataclass(frozen=True)
class Key:
    """One setting: its key, the group and field it fills, and its parser."""

    name: str
    group: type
    field: str
    parse: Callable[[object], Any]


def _keys(group: type) -> tuple[Key, ...]:
    found: tuple[Field[Any], ...] = fields(group)
    return tuple(
        Key(f.metadata[_KEY] or f.name, group, f.name, f.metadata[_PARSE])
        for f in found
        if _PARSE in f.metadata
    )


KEYS: Mapping[str, Key] = {k.name: k for group in GROUPS for k in _keys(group)}
HISTORY_KEYS: tuple[str, ...] = tuple(k.name for k in _keys(HistorySettings))
