"""A lesson on disk: script.json, where run.json says it came from, and the files its anchors show."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessongen.errors import UsageError
from lessongen.render.base import Lesson
from lessongen.repo.reading import read_source
from lessongen.repo.secret_scanner import ProviderScanner
from lessongen.repo.secrets import SecretScanner, SecretsMode, apply_secrets_policy
from lessongen.script.assemble import Script
from lessongen.script.reader import ScriptFormatError, script_from_json
from lessongen.shared.data import GitOrigin, SourceFile


@dataclass(frozen=True)
class Recorded:
    """What run.json says about the repository a lesson was made from."""

    root: Path | None
    origin: GitOrigin | None


def repository_record(root: Path, origin: GitOrigin | None) -> dict[str, Any]:
    """The repository as run.json records it (read back by recorded_repository)."""
    return {
        "root": str(root),
        "commit": origin.commit if origin else None,
        "prefix": origin.prefix if origin else "",
    }


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        raise UsageError(
            f"no lesson in {path.parent}: {path.name} is missing",
            "pass the folder lessongen run wrote (default lesson/), or run lessongen run first",
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read {path}: {exc}", "rerun lessongen run --force to write it again"
        ) from None


def recorded_repository(folder: Path) -> Recorded:
    """The repository recorded in the lesson's run.json; nothing when run.json is absent or older."""
    if not (folder / "run.json").is_file():
        return Recorded(None, None)
    data = _read_json(folder / "run.json")
    raw = data.get("repository") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return Recorded(None, None)
    root = Path(raw["root"]) if isinstance(raw.get("root"), str) else None
    commit, prefix = raw.get("commit"), raw.get("prefix")
    origin = GitOrigin(commit, prefix if isinstance(prefix, str) else "") if isinstance(commit, str) else None
    return Recorded(root if root and root.is_dir() else None, origin)


def read_script(folder: Path) -> Script:
    """The lesson's script.json; a one-line error when it is missing or not a lessongen script."""
    path = folder / "script.json"
    try:
        return script_from_json(_read_json(path))
    except ScriptFormatError as exc:
        raise UsageError(f"{path} is not a lessongen script ({exc})", "rerun lessongen run --force") from None


def read_repository_file(root: Path, rel: str, max_bytes: int) -> SourceFile | None:
    """One file of the repository as the run reads it; None when it is missing, outside or not text."""
    path = root / rel
    try:
        inside = path.resolve().is_relative_to(root.resolve())
        info = path.stat()
    except (OSError, RuntimeError):  # missing, unreadable, or a symlink loop
        return None
    if not inside or not stat.S_ISREG(info.st_mode):  # never leave the repository, never read a FIFO
        return None
    found = read_source(path, rel, info.st_size, max_bytes)
    return found if isinstance(found, SourceFile) else None


def read_sources(
    root: Path, paths: Iterable[str], mode: SecretsMode, max_bytes: int, scanner: SecretScanner | None = None
) -> dict[str, str]:
    """The text of the repository files an anchor points into, with secrets handled as the run handles them
    (by `scanner`; by default one that compiles its rules in memory)."""
    files = [
        f for f in (read_repository_file(root, p, max_bytes) for p in dict.fromkeys(paths)) if f is not None
    ]
    # A render never refuses over a secret: files the run would leave out (or refuse) are not shown.
    checking = SecretsMode.SKIP_FILE if mode is SecretsMode.FAIL else mode
    scanner = scanner or SecretScanner(ProviderScanner())
    return {f.path: f.text for f in apply_secrets_policy(files, checking, scanner).files}


def load_lesson(
    folder: Path,
    root: Path,
    origin: GitOrigin | None,
    mode: SecretsMode,
    max_bytes: int,
    scanner: SecretScanner | None = None,
) -> Lesson:
    """The lesson in `folder`, with the anchored files read from the repository at `root`."""
    script = read_script(folder)
    paths = [a.path for c in script.chapters for s in c.scenes for a in s.anchors]
    return Lesson(script, read_sources(root, paths, mode, max_bytes, scanner), origin, folder)
