"""The run's saved state: every paid answer on disk before it is used, and what the run was started with.

Layout under the output folder: `.lessongen/manifest.json` (what the run was started with) and
`.lessongen/replies/NNNN.json` (each answer with the hash of the request that paid for it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessongen.models.seam import Completion, Usage
from lessongen.shared.storage import read_json, write_json
from lessongen.shared.text import first_few

STATE_DIR = ".lessongen"


def request_key(messages: Sequence[Mapping[str, str]], max_tokens: int) -> str:
    """A hash of exactly what a call sends."""
    blob = json.dumps([[m["role"], m["content"]] for m in messages] + [max_tokens], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SavedReply:
    """An answer read back from the journal."""

    completion: Completion
    seconds: float


class Journal:
    """Reads and writes the run's state folder; touches nothing else in the output folder."""

    def __init__(self, output: Path) -> None:
        self.folder = output / STATE_DIR
        self._replies = self.folder / "replies"

    def exists(self) -> bool:
        """True when a run has saved state here."""
        return (self.folder / "manifest.json").is_file()

    def manifest(self) -> dict[str, Any]:
        """What the saved run was started with."""
        data = read_json(self.folder / "manifest.json")
        return data if isinstance(data, dict) else {}

    def start(self, manifest: Mapping[str, Any]) -> None:
        """Record what this run is started with."""
        write_json(self.folder / "manifest.json", dict(manifest))

    def clear(self) -> None:
        """Forget a previous run (only lessongen's own state folder is removed)."""
        shutil.rmtree(self.folder, ignore_errors=True)

    def load(self, index: int, key: str) -> SavedReply | None:
        """The saved answer of call `index`, if it answered exactly this request."""
        path = self._replies / f"{index:04d}.json"
        if not path.is_file():
            return None
        data = read_json(path)
        if data.get("request_key") != key:
            return None
        usage = data.get("usage")
        completion = Completion(
            text=data["text"],
            finish_reason=data["finish_reason"],
            usage=Usage(**usage) if usage else None,
            attempts=data.get("attempts", 1),
            response_format=data.get("response_format", "text"),
        )
        return SavedReply(completion, float(data.get("seconds", 0.0)))

    def save(self, index: int, key: str, label: str, completion: Completion, seconds: float) -> None:
        """Write an answer to disk (atomically) before anything uses it."""
        usage = completion.usage
        write_json(
            self._replies / f"{index:04d}.json",
            {
                "index": index,
                "label": label,
                "request_key": key,
                "text": completion.text,
                "finish_reason": completion.finish_reason,
                "usage": None
                if usage is None
                else {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "cached_tokens": usage.cached_tokens,
                },
                "attempts": completion.attempts,
                "response_format": completion.response_format,
                "seconds": round(seconds, 3),
            },
        )

    def saved_count(self) -> int:
        """How many answers are saved."""
        return len(list(self._replies.glob("[0-9]*.json"))) if self._replies.is_dir() else 0


def explain_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between a saved manifest and the current one."""
    changes: list[str] = []
    for key in ("model", "prompts", "schema_version"):
        if saved.get(key) != current.get(key):
            changes.append(f"{key} changed ({saved.get(key)!s:.40} -> {current.get(key)!s:.40})")
    old_settings, new_settings = saved.get("settings", {}), current.get("settings", {})
    for key in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(key) != new_settings.get(key):
            changes.append(f"setting {key} changed ({old_settings.get(key)} -> {new_settings.get(key)})")
    old_files, new_files = saved.get("files", {}), current.get("files", {})
    changed = sorted(p for p in set(old_files) | set(new_files) if old_files.get(p) != new_files.get(p))
    if changed:
        changes.append(f"repository files changed: {first_few(changed, 5)}")
    return changes
