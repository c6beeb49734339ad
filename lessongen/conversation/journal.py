"""The run's saved state: every paid answer on disk before it is used, and what the run was started with.

Layout under the output folder: `.lessongen/manifest.json` (what the run was started with) and
`.lessongen/replies/NNNN-KEY.json` (the answer of call NNNN, under the key of the request that paid for
it). Answers are found by key, not by call number: any request byte-identical to one already answered
here is replayed, wherever it now falls in the run.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from lessongen.errors import OutputError
from lessongen.models.seam import BadCompletion, Completion
from lessongen.shared.layout import STATE_DIR
from lessongen.shared.storage import read_json, write_json
from lessongen.shared.text import first_few


def request_key(messages: Sequence[Mapping[str, str]], model: str) -> str:
    """A hash of what a call asks and of the model asked: another model's answer is never replayed.

    The reply limit is left out (it follows the window; see `SavedReply.serves`), and so is the chapter
    schema: it is made from the request's own file list and scene count, both in the messages.
    """
    blob = json.dumps([model, *([m["role"], m["content"]] for m in messages)], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SavedReply:
    """An answer read back from the journal."""

    completion: Completion
    seconds: float
    max_tokens: int | None  # the reply limit it was asked with (None: saved by an older version)

    def serves(self, max_tokens: int) -> bool:
        """True unless the answer was cut off at a smaller reply limit than `max_tokens` would allow."""
        cut = self.completion.finish_reason == "length"
        return not (cut and self.max_tokens is not None and self.max_tokens < max_tokens)


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
    limit = data.get("max_tokens")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
        raise Damaged("`max_tokens` is not a whole number")
    try:
        completion = Completion.from_json(data)
    except BadCompletion as exc:
        raise Damaged(str(exc)) from None
    return data["request_key"], SavedReply(completion, max(float(seconds), 0.0), limit)


def _index_and_key(path: Path) -> tuple[int, str] | None:
    """The call number and request key a reply file is named by, or None for another name."""
    number, dash, key = path.stem.partition("-")
    if not (dash and number.isdigit() and len(key) == 64):
        return None
    return int(number), key


class Journal:
    """Reads and writes the run's state folder; touches nothing else in the output folder."""

    def __init__(self, output: Path) -> None:
        self.folder = output / STATE_DIR
        self._replies = self.folder / "replies"
        self._lock = FileLock(self.folder / "lock", timeout=0)
        self.damaged: list[str] = []  # saved answers that could not be used, to be asked again
        self._files: dict[str, list[Path]] | None = None  # read on first use

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
            self._files = None
        except OSError as exc:
            raise OutputError(
                f"cannot remove the saved run in {self.folder}: {exc.strerror or exc}",
                "fix the folder's permissions, or pass --output for another folder",
            ) from None

    def _by_key(self) -> dict[str, list[Path]]:
        """The reply files by the key they are named by, read from the folder once."""
        if self._files is None:
            self._files = {}
            listed = sorted(self._replies.glob("[0-9]*-*.json")) if self._replies.is_dir() else []
            for path in listed:
                named = _index_and_key(path)
                if named is not None:
                    self._files.setdefault(named[1], []).append(path)
        return self._files

    def lookup(self, key: str, max_tokens: int) -> SavedReply | None:
        """The saved answer to exactly this request (see `request_key`), if one serves `max_tokens`.

        A damaged file (cut short, empty, not JSON, JSON of another shape, or another request's
        answer) is no answer: the call is asked again, and its new answer replaces the file.
        """
        for path in self._by_key().get(key, []):
            index = _index_and_key(path) or (0, key)
            try:
                saved_key, saved = _saved_reply(read_json(path))
                if saved_key != key:
                    raise Damaged("it holds the answer to another request")
            except (OutputError, Damaged) as exc:
                reason = exc.message if isinstance(exc, OutputError) else str(exc)
                note = f"saved answer {index[0]} is damaged ({reason}); that call is asked again"
                if note not in self.damaged:
                    self.damaged.append(note)
                continue
            if saved.serves(max_tokens):
                return saved
        return None

    def save(
        self, index: int, key: str, label: str, completion: Completion, seconds: float, max_tokens: int
    ) -> None:
        """Write an answer to disk (atomically) before anything uses it; it replaces any other file of its key."""
        path = self._replies / f"{index:04d}-{key}.json"
        write_json(
            path,
            {
                "index": index,
                "label": label,
                "request_key": key,
                "max_tokens": max_tokens,
                **completion.as_json(),
                "seconds": round(seconds, 3),
            },
        )
        files = self._by_key()
        for other in files.get(key, []):
            if other != path:  # a damaged answer, or one that did not serve this reply limit
                with suppress(OSError):  # left as it was: lookups try the new answer first
                    other.unlink(missing_ok=True)
        files[key] = [path, *(p for p in files.get(key, []) if p != path and p.exists())]

    def saved_count(self) -> int:
        """How many answers are saved."""
        return sum(len(paths) for paths in self._by_key().values())


# What answered and what was asked about: a resume that changed any of these is refused.
_FIXED = ("backend", "model", "repository", "schema_version")


def _changed(saved: Mapping[str, Any], current: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    return [
        f"{key} changed ({saved.get(key)!s:.80} -> {current.get(key)!s:.80})"
        for key in keys
        if saved.get(key) != current.get(key)
    ]


def refused_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What changed that a resume cannot build on: the backend, model, repository or lesson format,
    and the repository's files (answers about other files, or another model's, are not this lesson)."""
    changes = _changed(saved, current, _FIXED)
    old_files, new_files = saved.get("files", {}), current.get("files", {})
    changed = sorted(p for p in set(old_files) | set(new_files) if old_files.get(p) != new_files.get(p))
    if changed:
        changes.append(f"repository files changed: {first_few(changed, 5)}")
    return changes


def setting_changes(saved: Mapping[str, Any], current: Mapping[str, Any], budget: bool = True) -> list[str]:
    """What changed in how the conversation is shaped (prompts, settings and, with `budget`, the batch
    budget): a resume goes on, replaying every request that stayed byte-identical."""
    changes = _changed(saved, current, ("prompts",))
    old_settings, new_settings = saved.get("settings", {}), current.get("settings", {})
    for key in sorted(set(old_settings) | set(new_settings)):
        if old_settings.get(key) != new_settings.get(key):
            changes.append(f"setting {key} changed ({old_settings.get(key)} -> {new_settings.get(key)})")
    if budget and saved.get("batch_budget") != current.get("batch_budget"):
        changes.append(f"batch budget changed ({saved.get('batch_budget')} -> {current.get('batch_budget')})")
    return changes


def explain_changes(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Every difference between a saved manifest and the current one but the batch budget."""
    return [*refused_changes(saved, current), *setting_changes(saved, current, budget=False)]
