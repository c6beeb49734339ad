"""Gitignore-style rule layers and the user's --include/--exclude globs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import pathspec


class IgnoreFile(StrEnum):
    """Where an ignore rule comes from; also the skip reason the plan shows for what it leaves out."""

    GITIGNORE = "gitignore"
    GIT_EXCLUDE = "git info/exclude"
    LESSONGENIGNORE = "lessongenignore"

    @property
    def git_owned(self) -> bool:
        """git's own rules: a file git tracks stays in even when one of them matches it."""
        return self is not IgnoreFile.LESSONGENIGNORE


@dataclass(frozen=True)
class RuleLayer:
    """One ignore file's rules, anchored at a folder (relative to the repository, '' for its root).

    `prefix` is prepended for layers that sit above the repository root (a parent .gitignore).
    `dir_spec` judges folders when it differs from `spec` (see `_folder_line`).
    """

    base: str
    spec: pathspec.GitIgnoreSpec
    reason: IgnoreFile
    prefix: str = ""
    dir_spec: pathspec.GitIgnoreSpec | None = None

    def decide(self, rel: str, is_dir: bool) -> bool | None:
        """True if ignored, False if re-included by a negation, None if no rule matches."""
        if self.base:
            if not rel.startswith(self.base + "/"):
                return None
            rel = rel[len(self.base) + 1 :]
        candidate = self.prefix + rel + ("/" if is_dir else "")
        result = ((self.dir_spec or self.spec) if is_dir else self.spec).check_file(candidate)
        return None if result.include is None else bool(result.include)


def layer_from_lines(
    lines: Iterable[str], base: str, reason: IgnoreFile, prefix: str = ""
) -> RuleLayer | None:
    """A rule layer, or None when the lines hold no rules."""
    kept = [line.rstrip("\r\n") for line in lines]
    if not any(line.strip() and not line.lstrip().startswith("#") for line in kept):
        return None
    folder_lines = [_folder_line(line) for line in kept]
    dir_spec = pathspec.GitIgnoreSpec.from_lines(folder_lines) if folder_lines != kept else None
    spec = pathspec.GitIgnoreSpec.from_lines(kept)
    return RuleLayer(base=base, spec=spec, reason=reason, prefix=prefix, dir_spec=dir_spec)


def _folder_line(line: str) -> str:
    # git's `x/**` matches what x holds but not x itself, so a negation below x still works; pathspec
    # matches the folder candidate `x/` too. For folders, `x/*` says what git means.
    rule = line.rstrip()
    return rule[:-1] if rule.endswith("/**") else line


def decide(layers: Sequence[RuleLayer], rel: str, is_dir: bool) -> IgnoreFile | None:
    """The reason a path is ignored by the deepest layer with a matching rule, or None.

    Layers are ordered from lowest to highest precedence, as git orders them.
    """
    for layer in reversed(layers):
        verdict = layer.decide(rel, is_dir)
        if verdict is not None:
            return layer.reason if verdict else None
    return None


@dataclass(frozen=True)
class Selection:
    """The user's --include / --exclude globs (gitignore syntax, relative to the repository)."""

    include: pathspec.GitIgnoreSpec | None
    exclude: pathspec.GitIgnoreSpec | None

    @classmethod
    def from_globs(cls, include: Sequence[str], exclude: Sequence[str]) -> Selection:
        """Compile the globs once."""
        return cls(
            include=pathspec.GitIgnoreSpec.from_lines(include) if include else None,
            exclude=pathspec.GitIgnoreSpec.from_lines(exclude) if exclude else None,
        )

    def excluded(self, rel: str, is_dir: bool) -> bool:
        """True when --exclude matches."""
        return self.exclude is not None and bool(self.exclude.match_file(rel + ("/" if is_dir else "")))

    def not_included(self, rel: str) -> bool:
        """True when --include globs are given and none matches this file."""
        return self.include is not None and not self.include.match_file(rel)
