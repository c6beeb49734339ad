"""The run's saved state: every paid answer on disk before it is used, and what the run was started with.

Layout under the output folder: `.lessongen/manifest.json` (what the run was started with) and
`.lessongen/replies/NNNN.json` (each answer with the hash of the request that paid for it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from lessongen.errors import OutputError
from lessongen.models.seam import BadCompletion, Completion
from lessongen.shared.layout import STATE_DIR
from lessongen.shared.storage import read_json, write_json
from lessongen.shared.text import first_few


def request_key(messages: Sequence[Mapping[str, str]], max_tokens: int) -> str:
    """A hash of exactly what a call sends."""
    blob = json.dumps([[m["role"], m["content"]] for m in messages] + [max_tokens], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SavedReply:
    """An answer read back from the journal."""

    completion: Completion
    seconds: float


class Damaged(ValueError):
    """A saved answer that cannot be used as it is on disk."""


def _saved_reply(data: object) -> tuple[str, SavedReply]:
    """The request key and the answer of a reply file's JSON; Damaged if it has another shape."""
    if not isinstance(data, dict):
        raise Damaged(f"a JSON {type(data).__name__}, not an object")
    if not isinstance(data.get("request_key"), str):
        raise Damaged("`request_key` missing or not a text")
    seconds = data.get("seconds", 0.0)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float):
        raise Damaged("`seconds` is not a number")
    try:
        completion = Completion.from_json(data)
    except BadCompletion as exc:
        raise Damaged(str(exc)) from None
    return data["request_key"], SavedReply(completion, max(float(seconds), 0.0))


class Journal:
    """Reads and writes the run's state folder; touches nothing else in the output folder."""

    def __init__(self, output: Path) -> None:
        self.folder = output / STATE_DIR
        self._replies = self.folder / "replies"
        self._lock = FileLock(self.folder / "lock", timeout=0)
        self.damaged: list[str] = []  # saved answers that could not be used, to be asked again

    def exists(self) -> bool:
        """True when a run has saved state here."""
        return (self.folder / "manifest.json").is_file()

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the output folder's OS lock: a second run or resume on it refuses instead of paying twice."""
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout:
            raise OutputError(
                f"{self.folder.parent} is in use by another lessongen run",
                "wait for it to finish, or pass --output for another folder",
            ) from None
        except OSError as exc:
            raise OutputError(
                f"cannot write {self.folder}: {exc.strerror or exc}",
                "fix the folder's permissions, or pass --output for another folder",
            ) from None
        try:
            yield
        finally:
            self._lock.release()

    def manifest(self) -> dict[str, Any]:
        """What the saved run was started with; a damaged manifest cannot vouch for the saved answers."""
        try:
            data = read_json(self.folder / "manifest.json")
        except OutputError as exc:
            raise OutputError(
                f"the saved run's manifest is damaged ({exc.message})",
                "its answers cannot be checked against this run: pass --force to start over",
            ) from None
        return data if isinstance(data, dict) else {}

    def start(self, manifest: Mapping[str, Any]) -> None:
        """Record what this run is started with."""
        write_json(self.folder / "manifest.json", dict(manifest))

    def clear(self) -> None:
        """Forget a previous run: its manifest and answers (the lock, held by this run, stays)."""
        try:
            (self.folder / "manifest.json").unlink(missing_ok=True)
            if self._replies.exists():
                shutil.rmtree(self._replies)
        except OSError as exc:
            raise OutputError(
                f"cannot remove the saved run in {self.folder}: {exc.strerror or exc}",
                "fix the folder's permissions, or pass --output for another folder",
            ) from None

    def load(self, index: int, key: str) -> SavedReply | None:
        """The saved answer of call `index`, if it answered exactly this request.

        A damaged file (cut short, empty, not JSON, or JSON of another shape) is no answer: that one
        call is asked again, and its new answer replaces the file.
        """
        path = self._replies / f"{index:04d}.json"
        if not path.exists():
            return None
        try:
            saved_key, saved = _saved_reply(read_json(path))
        except (OutputError, Damaged) as exc:
            reason = exc.message if isinstance(exc, OutputError) else str(exc)
            self.damaged.append(f"saved answer {index} is damaged ({reason}); that call is asked again")
            return None
        return saved if saved_key == key else None

    def save(self, index: int, key: str, label: str, completion: Completion, seconds: float) -> None:
        """Write an answer to disk (atomically) before anything uses it."""
        write_json(
            self._replies / f"{index:04d}.json",
            {
                "index": index,
                "label": label,
                "request_key": key,
                **completion.as_json(),
                "seconds": round(seconds, 3),
            },
        )

    def saved_count(self) -> int:
        """How many answers are saved."""
        return len(list(self._replies.glob("[0-9]*.json"))) if self._replies.is_dir() else 0


def explain_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between a saved manifest and the current one."""
    changes: list[str] = []
    for key in ("backend", "model", "repository", "prompts", "schema_version"):
        if saved.get(key) != current.get(key):
            changes.append(f"{key} changed ({saved.get(key)!s:.80} -> {current.get(key)!s:.80})")
    old_settings, new_settings = saved.get("settings", {}), current.get("settings", {})
    for key in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(key) != new_settings.get(key):
            changes.append(f"setting {key} changed ({old_settings.get(key)} -> {new_settings.get(key)})")
    old_files, new_files = saved.get("files", {}), current.get("files", {})
    changed = sorted(p for p in set(old_files) | set(new_files) if old_files.get(p) != new_files.get(p))
    if changed:
        changes.append(f"repository files changed: {first_few(changed, 5)}")
    return changes
