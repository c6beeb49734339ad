"""The settings a command line gives, as one typed object (the CLI fills it, resolve_settings reads it)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path


@dataclass(frozen=True)
class Flags:
    """The settings given as flags, None where not given; each field is named as its setting."""

    model: str | None = None
    base_url: str | None = None
    context_window: int | None = None
    max_input_tokens: int | None = None
    max_output_tokens: int | None = None
    input_price: float | None = None
    cached_input_price: float | None = None
    output_price: float | None = None
    include: list[str] | None = None
    exclude: list[str] | None = None
    max_file_bytes: int | None = None
    use_git: bool | None = None
    keep_recent: int | None = None
    summary_threshold: float | None = None
    preflight_limit: float | None = None
    reply_tokens: int | None = None
    summary_reply_tokens: int | None = None
    intro_reply_tokens: int | None = None
    max_reply_tokens: int | None = None
    max_batch_tokens: int | None = None
    max_cost: float | None = None
    max_calls: int | None = None
    strict: bool | None = None
    max_dropped_anchors: float | None = None
    timeout: float | None = None
    max_retries: int | None = None
    local: bool | None = None
    model_path: Path | None = None
    fallback_context_window: int | None = None
    refresh: bool | None = None
    probe_speed: bool | None = None
    secrets: str | None = None
    prompts_dir: Path | None = None
    output: Path | None = None
    cache_dir: Path | None = None
    render_formats: str | None = None

    def settings(self) -> dict[str, object]:
        """The flags by setting key, for resolve_settings (which skips the ones not given)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
