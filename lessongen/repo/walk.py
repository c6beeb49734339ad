"""Walking the repository: the one place that walks the disk for source files (repo/reading.py reads each)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

from lessongen.repo.exclusions import default_dir_reason, default_file_reason
from lessongen.repo.ignore import IgnoreFile, RuleLayer, Selection, decide, layer_from_lines
from lessongen.repo.reading import Reader, Reuse, read_candidate, read_source
from lessongen.repo.stat_index import StatIndex
from lessongen.shared.data import RepoScan, SkippedPath, SourceFile
from lessongen.shared.layout import LESSON_FILES, RENDERED_DIRS, STATE_DIR
from lessongen.shared.safe_read import SMALL_FILE_LIMIT, read_text

OWN_OUTPUT = "lessongen output"


@dataclass(frozen=True)
class GitView:
    """What git says about a work tree: tracked files and the ignore rules above the repository path."""

    tracked: frozenset[str]
    layers: tuple[RuleLayer, ...]


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", os.fspath(root), *args], capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.decode("utf-8", "surrogateescape") if done.returncode == 0 else None


def _read_lines(path: Path) -> list[str] | None:
    try:  # git skips a leading BOM too
        return read_text(path, SMALL_FILE_LIMIT, "utf-8-sig", errors="replace").splitlines()
    except OSError:  # missing, unreadable, a FIFO, a device or huge: no rules from it
        return None


def probe_git(root: Path) -> GitView | None:
    """Ask git for the tracked files and the ignore files above `root`; None when not a work tree."""
    root = root.resolve()  # git answers with resolved paths; a symlinked or relative root must compare
    out = _git(root, "rev-parse", "--show-toplevel", "--absolute-git-dir")
    if out is None:
        return None
    top_text, git_dir = ([*out.splitlines(), "", ""])[:2]
    top = Path(top_text).resolve()
    tracked_out = _git(root, "ls-files", "-z", "--cached")
    tracked = frozenset(p for p in (tracked_out or "").split("\0") if p)
    inner = root.relative_to(top).as_posix() if root != top else ""
    layers: list[RuleLayer] = []
    exclude_lines = _read_lines(Path(git_dir) / "info" / "exclude")
    prefix = inner + "/" if inner else ""
    if exclude_lines:
        layer = layer_from_lines(exclude_lines, "", IgnoreFile.GIT_EXCLUDE, prefix)
        if layer:
            layers.append(layer)
    # .gitignore files between the work tree's top and the repository path apply too.
    parts = inner.split("/") if inner else []
    for depth in range(len(parts)):
        lines = _read_lines(top.joinpath(*parts[:depth], ".gitignore"))
        if lines:
            layer = layer_from_lines(lines, "", IgnoreFile.GITIGNORE, "/".join(parts[depth:]) + "/")
            if layer:
                layers.append(layer)
    return GitView(tracked=tracked, layers=tuple(layers))


def _fallback_git(root: Path) -> GitView | None:
    """Without a git binary, still honour .git/info/exclude of a plain checkout."""
    lines = _read_lines(root / ".git" / "info" / "exclude")
    layer = layer_from_lines(lines, "", IgnoreFile.GIT_EXCLUDE) if lines else None
    return (
        GitView(tracked=frozenset(), layers=(layer,) if layer else ()) if (root / ".git").exists() else None
    )


def _ignore_layers(folder: Path, rel: str) -> list[RuleLayer]:
    layers: list[RuleLayer] = []
    for name, reason in (
        (".gitignore", IgnoreFile.GITIGNORE),
        (".lessongenignore", IgnoreFile.LESSONGENIGNORE),
    ):
        lines = _read_lines(folder / name)
        layer = layer_from_lines(lines, rel, reason) if lines else None
        if layer:
            layers.append(layer)
    return layers


def _symlink_reason(path: Path, root: Path) -> tuple[str, str]:
    target = Path(os.path.realpath(path))
    if not target.exists():
        return ("broken symlink", "")
    if not target.is_relative_to(root):
        return ("symlink outside repository", "")
    return ("symlink inside repository", f"its target {target.relative_to(root).as_posix()} is walked itself")


def scan_repository(
    root: Path,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    max_file_bytes: int = 1_000_000,
    use_git: bool = True,
    skip_dirs: Sequence[Path] = (),
    git_probe: Callable[[Path], GitView | None] = probe_git,
    read: Reader = read_source,
    on_file: Callable[[SourceFile], None] | None = None,
    index: StatIndex | None = None,
    reuse: Reuse | None = None,
) -> RepoScan:
    """Walk `root` and read every file that may be sent, keeping a reason for each path left out.

    `on_file` sees each file as soon as it is read, so counting can start while the walk goes on. What
    is read is remembered in `index`; with `reuse`, a file the index knows unchanged is not read when
    `reuse` accepts what is known of it (a plan's choice: it is then unread, without its text).
    """
    root = root.resolve()
    selection = Selection.from_globs(include, exclude)
    git = (git_probe(root) or _fallback_git(root)) if use_git else None
    tracked = git.tracked if git else frozenset()
    tracked_dirs = {"/".join(p.split("/")[:i]) for p in tracked for i in range(1, p.count("/") + 1)}
    own = {p.resolve() for p in skip_dirs}
    at_root = _root_outputs(root, own)
    skipped: list[SkippedPath] = []
    candidates: list[tuple[Path, str, os.stat_result]] = []
    stack: list[tuple[str, tuple[RuleLayer, ...]]] = [("", git.layers if git else ())]
    while stack:
        rel_dir, inherited = stack.pop()
        folder = root / rel_dir if rel_dir else root
        layers = (*inherited, *_ignore_layers(folder, rel_dir))
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            skipped.append(SkippedPath(rel_dir + "/", "unreadable", exc.strerror or type(exc).__name__))
            continue
        subdirs: list[tuple[str, tuple[RuleLayer, ...]]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            if not _utf8_name(entry.name):
                # Such a name cannot be sent to the model nor written to the UTF-8 outputs.
                skipped.append(SkippedPath(_shown(rel), "unreadable", "the name is not valid UTF-8"))
                continue
            if not rel_dir and entry.name in at_root:
                skipped.append(SkippedPath(rel + ("/" if entry.is_dir() else ""), OWN_OUTPUT))
                continue
            try:
                if entry.is_symlink():
                    skipped.append(SkippedPath(rel, *_symlink_reason(Path(entry.path), root)))
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = entry.is_file(follow_symlinks=False)
                info = entry.stat(follow_symlinks=False) if is_file else None
            except OSError as exc:
                skipped.append(SkippedPath(rel, "unreadable", exc.strerror or type(exc).__name__))
                continue
            if is_dir:
                reason = _dir_reason(entry, rel, layers, selection, own, tracked_dirs)
                if reason:
                    skipped.append(SkippedPath(rel + "/", reason))
                else:
                    subdirs.append((rel, layers))
            elif info is None:  # neither a folder nor a regular file
                skipped.append(SkippedPath(rel, "not a regular file"))
            else:
                reason = _file_reason(entry.name, rel, layers, selection, tracked)
                if reason:
                    skipped.append(SkippedPath(rel, reason))
                else:
                    candidates.append((Path(entry.path), rel, info))
        stack.extend(reversed(subdirs))
    files: list[SourceFile] = []
    if index is not None:
        index.open(root)
    for path, rel, info in candidates:
        result = read_candidate(read, path, rel, info, max_file_bytes, index, reuse)
        if isinstance(result, SourceFile):
            files.append(result)
            if on_file is not None:
                on_file(result)
        else:
            skipped.append(result)
    files.sort(key=lambda f: f.path)
    skipped.sort(key=lambda s: s.path)
    return RepoScan(root=root, files=tuple(files), skipped=tuple(skipped), git=bool(git and git.tracked))


def _is_lesson_folder(path: str) -> bool:
    """A saved run's state folder, or a folder holding one: lessongen's output, never source."""
    return os.path.basename(path) == STATE_DIR or os.path.isdir(os.path.join(path, STATE_DIR))


def _root_outputs(root: Path, own: set[Path]) -> frozenset[str]:
    """lessongen's own names at the root, when the repository itself is a lesson folder (--output .)."""
    if root in own or _is_lesson_folder(os.fspath(root)):
        return frozenset((STATE_DIR, *LESSON_FILES, *RENDERED_DIRS))
    return frozenset()


def _utf8_name(name: str) -> bool:
    """False for a name the file system gave as undecodable bytes (kept as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(rel: str) -> str:
    """A path with each undecodable byte replaced by U+FFFD, safe to print and to write as UTF-8."""
    return rel.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _dir_reason(
    entry: os.DirEntry[str],
    rel: str,
    layers: Sequence[RuleLayer],
    selection: Selection,
    own: set[Path],
    tracked_dirs: set[str],
) -> str | None:
    if _is_lesson_folder(entry.path) or (own and Path(entry.path).resolve() in own):
        return OWN_OUTPUT
    reason = default_dir_reason(entry.name, os.path.exists(os.path.join(entry.path, "pyvenv.cfg")))
    return reason or _ruled_out(rel, True, layers, selection, tracked_dirs)


def _file_reason(
    name: str, rel: str, layers: Sequence[RuleLayer], selection: Selection, tracked: frozenset[str]
) -> str | None:
    reason = default_file_reason(name) or _ruled_out(rel, False, layers, selection, tracked)
    if reason:
        return reason
    if selection.not_included(rel):
        return "not matched by --include"
    return None


def _ruled_out(
    rel: str, is_dir: bool, layers: Sequence[RuleLayer], selection: Selection, tracked: Collection[str]
) -> str | None:
    """--exclude, else the ignore rules; a path git tracks (a file, or a folder with tracked files inside)
    is part of the repository as git sees it, even where a git ignore rule names it."""
    if selection.excluded(rel, is_dir):
        return "--exclude"
    ignored = decide(layers, rel, is_dir)
    if ignored is not None and ignored.git_owned and rel in tracked:
        return None
    return ignored
