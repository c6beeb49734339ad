"""Reading files lessongen did not write itself: only regular files, never more than a limit.

A FIFO would block `open()` forever and a link to /dev/zero would never end; every config file,
ignore file, template, cache and saved-state file is read through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

SMALL_FILE_LIMIT = 1 << 20  # config files, prompt templates, ignore files, small caches
STATE_FILE_LIMIT = 64 << 20  # saved state: a manifest lists every file, a reply is bounded by the reserve

# O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer before fstat can refuse it.
_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)


class UnreadableFile(OSError):
    """A file that is not a regular file, larger than its limit, or not valid text; strerror says which."""

    def __init__(self, reason: str) -> None:
        super().__init__(0, reason)


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISDIR, "a folder"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def open_regular(path: Path) -> BinaryIO:
    """Open a file for binary reading only if it is (or links to) a regular file; else UnreadableFile."""
    fd = os.open(path, _FLAGS)
    try:
        mode = os.fstat(fd).st_mode  # of what was opened: a swap after a check cannot slip through
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"{_kind(mode)}, not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: Path, limit: int) -> bytes:
    """The whole content of a regular file of at most `limit` bytes; OSError (or UnreadableFile) if not."""
    with open_regular(path) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > limit:
            raise UnreadableFile(f"larger than {limit:,} bytes")
        data = handle.read(size + 1)
        if len(data) > size:  # it grew since fstat: read on, but never past the limit
            data += handle.read(limit + 1 - len(data))
    if len(data) > limit:
        raise UnreadableFile(f"larger than {limit:,} bytes")
    return data


def read_text(path: Path, limit: int, encoding: str = "utf-8", errors: str = "strict") -> str:
    """A regular text file of at most `limit` bytes; invalid text is an UnreadableFile naming the byte."""
    data = read_bytes(path, limit)
    try:
        return data.decode(encoding, errors)
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not valid {exc.encoding.upper()} (byte {exc.start + 1})") from None


def describe(exc: OSError) -> str:
    """A short reason for a failed read, for one-line messages."""
    return exc.strerror or type(exc).__name__
