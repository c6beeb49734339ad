"""Settings, resolved once: defaults < config file < environment < flags.

This is the only module that reads the environment. Everything downstream gets a frozen Settings.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs

from lessongen.config.fields import MODEL_KEYS
from lessongen.config.groups import (
    GROUPS,
    KEYS,
    CapSettings,
    GateSettings,
    HistorySettings,
    ModelSettings,
    PathSettings,
    RenderSettings,
    WalkSettings,
)
from lessongen.errors import UsageError
from lessongen.models.catalog import ModelOverride
from lessongen.shared.safe_read import SMALL_FILE_LIMIT, UnreadableFile, read_text


@dataclass(frozen=True)
class Settings:
    """Every setting of a run, resolved and validated, in groups by what they steer."""

    repo: Path
    model: ModelSettings = field(default_factory=ModelSettings)
    walk: WalkSettings = field(default_factory=WalkSettings)
    history: HistorySettings = field(default_factory=HistorySettings)
    caps: CapSettings = field(default_factory=CapSettings)
    gate: GateSettings = field(default_factory=GateSettings)
    paths: PathSettings = field(default_factory=PathSettings)
    render: RenderSettings = field(default_factory=RenderSettings)


# Environment variables the openai SDK itself reads; LESSONGEN_* names win over them.
_SDK_ENV = {"api_key": "OPENAI_API_KEY", "base_url": "OPENAI_BASE_URL"}


def env_name(key: str) -> str:
    """The environment variable for a setting."""
    return "LESSONGEN_" + key.upper()


def _parse(key: str, value: object, where: str) -> Any:
    try:
        return KEYS[key].parse(value)
    except ValueError as exc:
        shown = "***" if key == "api_key" else repr(value)
        raise UsageError(f"invalid {key} in {where}: {exc}, got {shown}", f"fix {key} in {where}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_text(path, SMALL_FILE_LIMIT))
    except UnreadableFile as exc:
        raise UsageError(f"config file {path} is {exc.strerror}", "save it as a UTF-8 TOML file") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}", "check the path") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}", "fix the file's syntax") from None


def _lessongen_table(data: dict[str, Any], path: Path) -> dict[str, Any] | None:
    """[tool.lessongen] of a pyproject.toml, None when absent; a `tool` or table of another type is an error."""
    tool = data.get("tool", {})
    table = tool.get("lessongen") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or (table is not None and not isinstance(table, dict)):
        shown = "tool" if not isinstance(tool, dict) else "tool.lessongen"
        raise UsageError(
            f"`{shown}` in {path} must be a table", "write it as [tool.lessongen] with settings below"
        )
    return table


def find_config(repo: Path, explicit: Path | None) -> tuple[Path | None, dict[str, Any]]:
    """The config file and its lessongen table: --config, else lessongen.toml, else pyproject.toml."""
    if explicit is not None:
        data = _read_toml(explicit)
        if explicit.name == "pyproject.toml":
            table = _lessongen_table(data, explicit)
            return explicit, data if table is None else table
        return explicit, data
    own = repo / "lessongen.toml"
    if own.is_file():
        return own, _read_toml(own)
    pyproject = repo / "pyproject.toml"
    if pyproject.is_file():
        table = _lessongen_table(_read_toml(pyproject), pyproject)
        if table is not None:
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
            if key not in MODEL_KEYS:
                known = ", ".join(MODEL_KEYS)
                raise UsageError(f"unknown key {key!r} in [models.{name}] of {where}", f"known keys: {known}")
            try:
                values[key] = MODEL_KEYS[key](value)
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
        elif key in KEYS:
            values[key] = _parse(key, value, where)
        else:
            raise UsageError(
                f"unknown setting {key!r} in {where}", "see examples/lessongen.toml for every setting"
            )
    for key, sdk_name in _SDK_ENV.items():
        if env.get(sdk_name):
            values[key] = _parse(key, env[sdk_name], sdk_name)
    for key in KEYS:
        name = env_name(key)
        if env.get(name):
            values[key] = _parse(key, env[name], name)
    for key, value in flags.items():
        if value is None or (isinstance(value, tuple | list) and not value):
            continue
        if key not in KEYS:
            raise UsageError(f"unknown flag setting {key!r}", "run lessongen --help")
        values[key] = _parse(key, value, "--" + key.replace("_", "-"))
    # Relative folders in a config file or flags are relative to the repository / working folder.
    for key in ("prompts_dir", "cache_dir", "model_path"):
        if key in values and path is not None and key in table and not values[key].is_absolute():
            values[key] = path.parent / values[key]
    values.setdefault("cache_dir", Path(platformdirs.user_cache_dir("lessongen")))
    groups: dict[type, dict[str, Any]] = {group: {} for group in GROUPS}
    for key, value in values.items():
        groups[KEYS[key].group][KEYS[key].field] = value
    return Settings(
        repo=root,
        model=ModelSettings(**groups[ModelSettings], named="model" in values, overrides=models),
        walk=WalkSettings(**groups[WalkSettings]),
        history=HistorySettings(**groups[HistorySettings]),
        caps=CapSettings(**groups[CapSettings]),
        gate=GateSettings(**groups[GateSettings]),
        paths=PathSettings(**groups[PathSettings], config_file=path),
        render=RenderSettings(**groups[RenderSettings]),
    )
