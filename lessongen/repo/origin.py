"""Which git commit a repository is at, and where it sits in its work tree (for CodeTour's ref and paths)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from lessongen.shared.data import GitOrigin


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", os.fspath(root), *args], capture_output=True, timeout=30, check=False, text=True
        )
    except (OSError, subprocess.SubprocessError, UnicodeDecodeError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_origin(root: Path) -> GitOrigin | None:
    """HEAD's commit and the folder's prefix in the work tree; None outside git or before a first commit."""
    commit = _git(root, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    if not commit:
        return None
    return GitOrigin(commit, _git(root, "rev-parse", "--show-prefix") or "")
