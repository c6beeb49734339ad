"""The one reader for files lessongen did not write: regular files only, never past a limit."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lessongen.shared.safe_read import UnreadableFile, open_regular, read_bytes, read_text


def test_regular_file_within_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"x" * 100)
    assert read_bytes(path, 100) == b"x" * 100
    with pytest.raises(UnreadableFile, match="larger than 99 bytes"):
        read_bytes(path, 99)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(UnreadableFile, match="a FIFO, not a regular file"):
        read_bytes(tmp_path / "pipe", 1000)


def test_link_to_a_device_or_a_folder_is_refused(tmp_path: Path) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(UnreadableFile, match="a device"):
        read_bytes(tmp_path / "zero", 1 << 30)
    with pytest.raises(OSError):
        open_regular(tmp_path)


def test_missing_file_is_an_ordinary_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_text(tmp_path / "nope", 10)


def test_invalid_text_names_the_first_bad_byte(tmp_path: Path) -> None:
    (tmp_path / "t").write_bytes(b"ab\xffcd")
    with pytest.raises(UnreadableFile, match=r"not valid UTF-8 \(byte 3\)"):
        read_text(tmp_path / "t", 100)
    assert read_text(tmp_path / "t", 100, errors="replace") == "ab\ufffdcd"
