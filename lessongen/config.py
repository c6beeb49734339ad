"""Settings, resolved once: defaults < config file < environment < flags.

This is the only module that reads the environment. Everything downstream gets a frozen Settings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from lessongen.catalog import ModelOverride
from lessongen.errors import UsageError


class Secret:
    """A value that never shows itself in repr, str, logs or tracebacks."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; call only where it is handed to the HTTP client."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, resolved and validated."""

    repo: Path
    model: str = "gpt-4o-mini"
    model_set: bool = False  # whether a model was named (the local fallback only applies when not)
    base_url: str | None = None
    api_key: Secret | None = field(default=None, repr=False)
    context_window: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_price: float | None = None
    cached_input_price: float | None = None
    output_price: float | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    max_file_bytes: int = 1_000_000
    use_git: bool = True
    keep_recent: int = 1
    summary_threshold: float = 0.85
    preflight_limit: float = 0.95
    reply_tokens: int = 1500
    summary_reply_tokens: int = 1200
    intro_reply_tokens: int = 1500
    max_reply_tokens: int = 4096
    max_batch_tokens: int = 24000
    max_cost: float | None = None
    max_calls: int | None = None
    prompts_dir: Path | None = None
    output: Path = Path("lesson")
    cache_dir: Path | None = None
    timeout: float = 120.0
    max_retries: int = 5
    local: bool | None = None  # True: in-process GGUF; False: never; None: when no key and no base URL
    model_path: Path | None = None
    fallback_context_window: int | None = None
    refresh: bool = False
    secrets: str = "redact"
    models: Mapping[str, ModelOverride] = field(default_factory=dict)
    config_file: Path | None = None

    def model_flags(self) -> ModelOverride:
        """The model facts set directly (flags, environment or top-level config keys)."""
        return ModelOverride(
            context_window=self.context_window,
            max_output_tokens=self.max_output_tokens,
            max_input_tokens=self.max_input_tokens,
            input_price=self.input_price,
            cached_input_price=self.cached_input_price,
            output_price=self.output_price,
        )


def _text(value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty text")
    return value.strip()


def _int(minimum: int) -> Callable[[object], int]:
    def parse(value: object) -> int:
        if isinstance(value, bool):
            raise ValueError("expected a whole number")
        try:
            number = int(str(value).replace("_", "")) if not isinstance(value, int) else value
        except ValueError:
            raise ValueError("expected a whole number") from None
        if number < minimum:
            raise ValueError(f"expected a whole number >= {minimum}")
        return number

    return parse


def _float(low: float, high: float | None = None) -> Callable[[object], float]:
    def parse(value: object) -> float:
        if isinstance(value, bool):
            raise ValueError("expected a number")
        try:
            number = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError("expected a number") from None
        if number < low or (high is not None and number > high):
            bound = f"between {low} and {high}" if high is not None else f">= {low}"
            raise ValueError(f"expected a number {bound}")
        return number

    return parse


def _bool(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in {"1", "true", "yes", "on"}:
        return True
    if text in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true or false")


def _globs(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        items = [part.strip() for part in value.split(",")]
    elif isinstance(value, list | tuple):
        items = [str(part).strip() for part in value]
    else:
        raise ValueError("expected a list of glob patterns")
    return tuple(item for item in items if item)


def _choice(*allowed: str) -> Callable[[object], str]:
    def parse(value: object) -> str:
        text = str(value).strip().lower()
        if text not in allowed:
            raise ValueError("expected one of " + ", ".join(allowed))
        return text

    return parse


def _path(value: object) -> Path:
    return Path(_text(str(value) if isinstance(value, Path) else value)).expanduser()


def _secret(value: object) -> Secret:
    return Secret(_text(value))


_PARSERS: dict[str, Callable[[object], Any]] = {
    "model": _text,
    "base_url": _text,
    "api_key": _secret,
    "context_window": _int(256),
    "max_input_tokens": _int(256),
    "max_output_tokens": _int(16),
    "input_price": _float(0.0),
    "cached_input_price": _float(0.0),
    "output_price": _float(0.0),
    "include": _globs,
    "exclude": _globs,
    "max_file_bytes": _int(1),
    "use_git": _bool,
    "keep_recent": _int(0),
    "summary_threshold": _float(0.1, 1.0),
    "preflight_limit": _float(0.1, 1.0),
    "reply_tokens": _int(1),
    "summary_reply_tokens": _int(1),
    "intro_reply_tokens": _int(1),
    "max_reply_tokens": _int(16),
    "max_batch_tokens": _int(256),
    "max_cost": _float(0.0),
    "max_calls": _int(1),
    "prompts_dir": _path,
    "output": _path,
    "cache_dir": _path,
    "timeout": _float(1.0),
    "max_retries": _int(0),
    "local": _bool,
    "model_path": _path,
    "fallback_context_window": _int(256),
    "refresh": _bool,
    "secrets": _choice("redact", "skip-file", "fail", "off"),
}

_MODEL_KEYS = {
    "context_window": _int(256),
    "max_output_tokens": _int(16),
    "max_input_tokens": _int(256),
    "input_price": _float(0.0),
    "cached_input_price": _float(0.0),
    "output_price": _float(0.0),
}

# Environment variables the openai SDK itself reads; LESSONGEN_* names win over them.
_SDK_ENV = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}


def env_name(key: str) -> str:
    """The environment variable for a setting."""
    return "LESSONGEN_" + key.upper()


def setting_names() -> tuple[str, ...]:
    """Every setting a config file, the environment or a flag may set."""
    return tuple(_PARSERS)


def _parse(key: str, value: object, where: str) -> Any:
    try:
        return _PARSERS[key](value)
    except ValueError as exc:
        shown = "***" if key == "api_key" else repr(value)
        raise UsageError(f"invalid {key} in {where}: {exc}, got {shown}", f"fix {key} in {where}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}", "check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}", "fix the file's syntax") from None


def find_config(repo: Path, explicit: Path | None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its lessongen table: --config, else lessongen.toml, else pyproject.toml."""
    if explicit is not None:
        data = _read_toml(explicit)
        table = data.get("tool", {}).get("lessongen", data) if explicit.name == "pyproject.toml" else data
        return explicit, table
    own = repo / "lessongen.toml"
    if own.is_file():
        return own, _read_toml(own)
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        table = _read_toml(pyproject).get("tool", {}).get("lessongen")
        if isinstance(table, dict):
            return pyproject, table
    return None, {}


def _model_overrides(raw: object, where: str) -> dict[str, ModelOverride]:
    if not isinstance(raw, dict):
        raise UsageError(f"[models] in {where} must be a table of model names", "see examples/lessongen.toml")
    result: dict[str, ModelOverride] = {}
    for name, entry in raw.items():
        if not isinstance(entry, dict):
            raise UsageError(f"[models.{name}] in {where} must be a table", "see examples/lessongen.toml")
        values: dict[str, Any] = {}
        for key, value in entry.items():
            if key not in _MODEL_KEYS:
                known = ", ".join(_MODEL_KEYS)
                raise UsageError(f"unknown key {key!r} in [models.{name}] of {where}", f"known keys: {known}")
            try:
                values[key] = _MODEL_KEYS[key](value)
            except ValueError as exc:
                raise UsageError(f"invalid {key} for model {name} in {where}: {exc}", "fix it") from None
        result[str(name)] = ModelOverride(**values)
    return result


def resolve_settings(
    repo: Path,
    flags: Mapping[str, object],
    env: Mapping[str, str],
    config_path: Path | None = None,
) -> Settings:
    """Merge defaults, the config file, the environment and flags into one validated Settings."""
    if not repo.exists():
        raise UsageError(f"repository path {repo} does not exist", "pass the folder to turn into a lesson")
    if not repo.is_dir():
        raise UsageError(f"repository path {repo} is a file, not a folder", "pass the repository's folder")
    root = repo.resolve()
    values: dict[str, Any] = {}
    path, table = find_config(root, config_path)
    where = path.name if path else "config"
    models: dict[str, ModelOverride] = {}
    for key, value in table.items():
        if key == "models":
            models = _model_overrides(value, where)
        elif key in _PARSERS:
            values[key] = _parse(key, value, where)
        else:
            raise UsageError(
                f"unknown setting {key!r} in {where}", "see examples/lessongen.toml for every setting"
            )
    for key, sdk_name in _SDK_ENV.items():
        if env.get(sdk_name):
            values[key] = _parse(key, env[sdk_name], sdk_name)
    for key in _PARSERS:
        name = env_name(key)
        if env.get(name):
            values[key] = _parse(key, env[name], name)
    for key, value in flags.items():
        if value is None or (isinstance(value, tuple | list) and not value):
            continue
        if key not in _PARSERS:
            raise UsageError(f"unknown flag setting {key!r}", "run lessongen --help")
        values[key] = _parse(key, value, "--" + key.replace("_", "-"))
    # Relative folders in a config file or flags are relative to the repository / working folder.
    for key in ("prompts_dir", "cache_dir", "model_path"):
        if key in values and path is not None and key in table and not values[key].is_absolute():
            values[key] = path.parent / values[key]
    values.setdefault("cache_dir", Path(platformdirs.user_cache_dir("lessongen")))
    values["model_set"] = "model" in values
    return Settings(repo=root, models=models, config_file=path, **values)


def known_fields() -> frozenset[str]:
    """Field names of Settings (used by tests to check the docs list every setting)."""
    return frozenset(f.name for f in fields(Settings))
