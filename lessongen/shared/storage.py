"""Atomic writes: a file is either the old version or the new one, never half of each."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from lessongen.config.settings import Settings
from lessongen.errors import OutputError
from lessongen.shared.safe_read import STATE_FILE_LIMIT, describe, read_text


def output_dir(settings: Settings) -> Path:
    """The output folder as an absolute path (relative paths are relative to the working folder)."""
    output = settings.paths.output
    return output if output.is_absolute() else Path.cwd() / output


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write text (or bytes) to a temporary file beside `path`, flush it to disk, then rename it over `path`."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            # errors="replace": a lone surrogate (from a non-UTF-8 name) must not lose the file.
            if isinstance(text, bytes):
                with os.fdopen(fd, "wb") as binary:
                    binary.write(text)
                    binary.flush()
                    os.fsync(binary.fileno())
                os.replace(temp, path)
                return
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, path)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror or exc}",
            "free disk space or fix the folder's permissions; saved state is intact, rerun with --resume",
        ) from None


def write_json(path: Path, data: Any) -> None:
    """Write JSON atomically."""
    write_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def read_json(path: Path) -> Any:
    """Read a JSON file lessongen wrote; a damaged file is an OutputError, not a traceback."""
    try:
        return json.loads(read_text(path, STATE_FILE_LIMIT))
    except OSError as exc:
        raise OutputError(
            f"cannot read {path}: {describe(exc)}", "remove the output folder or pass --force"
        ) from None
    except ValueError as exc:
        raise OutputError(f"cannot read {path}: {exc}", "remove the output folder or pass --force") from None
