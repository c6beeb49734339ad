"""The frozen values the pipeline stages hand each other."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path


def content_digest(data: bytes) -> str:
    """The digest that names content in caches and manifests: blake2b, 16 bytes, in hex."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def text_digest(text: str) -> str:
    """The content digest of a text (lone surrogates from non-UTF-8 names kept, not refused)."""
    return content_digest(text.encode("utf-8", "surrogatepass"))


def file_lines(text: str) -> list[str]:
    """A file's lines as anchors number them: only a newline ends a line (as Unread counts them)."""
    lines = text.replace("\r\n", "\n").split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines


@dataclass(frozen=True)
class Unread:
    """What a plan knows of a file it did not read because it is unchanged since an earlier read."""

    lines: int
    head: str  # the text's first character ("" for an empty text)
    ends_with_newline: bool

    @classmethod
    def of(cls, text: str) -> Unread:
        """The facts of a text that stand in for it."""
        lines = text.count("\n") + (0 if text.endswith("\n") or not text else 1)
        return cls(lines, text[:1], text.endswith("\n"))


@dataclass(frozen=True)
class SourceFile:
    """A text file of the repository that may be sent to the model."""

    path: str  # relative, with forward slashes
    text: str  # "" when `unread`
    digest: str  # content_digest of the raw bytes (of the text once redacted): caches, change detection
    size: int
    note: str = ""  # e.g. "invalid UTF-8 replaced"
    unread: Unread | None = None  # set only by a plan, for a file known from the stat index

    @cached_property
    def facts(self) -> Unread:
        """What stands in for the text when it is not read (found once: the walk and the counting ask)."""
        return self.unread or Unread.of(self.text)

    @property
    def line_count(self) -> int:
        """Lines in the file (a last line without a newline counts)."""
        return self.facts.lines


@dataclass(frozen=True)
class SkippedPath:
    """A path left out, with the reason a user sees in the plan."""

    path: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class GitOrigin:
    """Where a repository sits in git: the commit a lesson was made from and its folder in the work tree."""

    commit: str
    prefix: str = ""  # the repository's folder relative to the work tree's top: '' or 'sub/dir/'


@dataclass(frozen=True)
class RepoScan:
    """What the walk found: files to send and everything left out."""

    root: Path
    files: tuple[SourceFile, ...]
    skipped: tuple[SkippedPath, ...]
    git: bool = False


@dataclass(frozen=True)
class FilePart:
    """A whole file, or one line range of a file too large for one batch, with its token count."""

    path: str
    text: str
    tokens: int
    digest: str
    part: int = 1
    parts: int = 1
    start_line: int = 1
    end_line: int = 1
    unread: bool = False  # a plan's whole-file part of a file it did not read: `text` is ""

    @property
    def label(self) -> str:
        """How the part is named to the model and the user."""
        if self.parts == 1:
            return self.path
        return f"{self.path} (part {self.part} of {self.parts}, lines {self.start_line}-{self.end_line})"


@dataclass(frozen=True)
class Batch:
    """Files sent together in one user message."""

    index: int  # 0-based
    parts: tuple[FilePart, ...]

    @property
    def tokens(self) -> int:
        """Source tokens of the batch, without framing."""
        return sum(part.tokens for part in self.parts)

    @property
    def paths(self) -> tuple[str, ...]:
        """Distinct file paths, in order."""
        return tuple(dict.fromkeys(part.path for part in self.parts))
