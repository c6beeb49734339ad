"""Which paths are left out and why: default exclusions and gitignore-style rule layers."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pathspec

# Folder names never worth teaching from, each with the reason the plan shows. A folder named venv is
# a virtualenv only when it holds pyvenv.cfg (the standard library has a venv package).
DEFAULT_DIRS: dict[str, str] = {
    **dict.fromkeys((".git", ".hg", ".svn", ".bzr", "_darcs", ".jj"), "vcs folder"),
    **dict.fromkeys((".venv", ".virtualenv", ".tox", ".nox", "__pypackages__", ".conda"), "virtualenv"),
    **dict.fromkeys(
        ("node_modules", "bower_components", "jspm_packages", ".pnpm-store", ".yarn"), "dependencies"
    ),
    **dict.fromkeys(
        ("build", "dist", "target", "_build", ".next", ".nuxt", ".svelte-kit", ".output", ".eggs", "htmlcov"),
        "build output",
    ),
    **dict.fromkeys(
        (
            "__pycache__",
            ".mypy_cache",
            ".pytest_cache",
            ".ruff_cache",
            ".cache",
            ".gradle",
            ".parcel-cache",
            ".turbo",
            ".hypothesis",
            ".ipynb_checkpoints",
            ".terraform",
        ),
        "cache",
    ),
    **dict.fromkeys((".idea", ".vscode", ".vs"), "editor settings"),
}

_FILE_RULES: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "secret-looking name",
        (
            ".env",
            ".env.*",
            "*.env",
            "*.pem",
            "*.key",
            "*.p12",
            "*.pfx",
            "*.jks",
            "*.keystore",
            "*.kdbx",
            "id_rsa*",
            "id_dsa*",
            "id_ecdsa*",
            "id_ed25519*",
            ".netrc",
            ".pgpass",
            ".pypirc",
            ".npmrc",
            "credentials.json",
            "*secret*.json",
            "*.ovpn",
            ".htpasswd",
            "*.gpg",
        ),
    ),
    (
        "lock file",
        (
            "package-lock.json",
            "npm-shrinkwrap.json",
            "yarn.lock",
            "pnpm-lock.yaml",
            "poetry.lock",
            "Pipfile.lock",
            "uv.lock",
            "pdm.lock",
            "Cargo.lock",
            "composer.lock",
            "Gemfile.lock",
            "go.sum",
            "mix.lock",
            "pubspec.lock",
            "Podfile.lock",
            "packages.lock.json",
            "flake.lock",
            "*.lock",
        ),
    ),
    (
        "minified bundle",
        ("*.min.js", "*.min.css", "*.min.mjs", "*.bundle.js", "*.js.map", "*.css.map", "*.map"),
    ),
    (
        "generated",
        (
            "*_pb2.py",
            "*_pb2_grpc.py",
            "*_pb2.pyi",
            "*.pb.go",
            "*.pb.cc",
            "*.pb.h",
            "*.g.dart",
            "*.generated.*",
            "*.designer.cs",
        ),
    ),
    (
        "image",
        (
            "*.png",
            "*.jpg",
            "*.jpeg",
            "*.gif",
            "*.bmp",
            "*.ico",
            "*.icns",
            "*.webp",
            "*.tif",
            "*.tiff",
            "*.psd",
            "*.heic",
            "*.avif",
            "*.svgz",
            "*.xcf",
        ),
    ),
    ("audio", ("*.mp3", "*.wav", "*.flac", "*.ogg", "*.oga", "*.m4a", "*.aac", "*.opus", "*.mid", "*.midi")),
    ("video", ("*.mp4", "*.mkv", "*.mov", "*.avi", "*.webm", "*.wmv", "*.flv", "*.m4v")),
    (
        "archive",
        (
            "*.zip",
            "*.tar",
            "*.gz",
            "*.tgz",
            "*.bz2",
            "*.xz",
            "*.zst",
            "*.7z",
            "*.rar",
            "*.jar",
            "*.war",
            "*.whl",
            "*.egg",
            "*.deb",
            "*.rpm",
            "*.dmg",
            "*.iso",
            "*.apk",
        ),
    ),
    ("font", ("*.ttf", "*.otf", "*.woff", "*.woff2", "*.eot")),
    (
        "compiled",
        (
            "*.pyc",
            "*.pyo",
            "*.so",
            "*.dll",
            "*.dylib",
            "*.exe",
            "*.o",
            "*.a",
            "*.class",
            "*.wasm",
            "*.bin",
            "*.obj",
            "*.lib",
        ),
    ),
    (
        "data dump",
        (
            "*.sqlite",
            "*.sqlite3",
            "*.db",
            "*.parquet",
            "*.pkl",
            "*.pickle",
            "*.npy",
            "*.npz",
            "*.h5",
            "*.onnx",
            "*.gguf",
            "*.safetensors",
            "*.pt",
            "*.ckpt",
            "*.pdf",
        ),
    ),
    ("os clutter", (".DS_Store", "Thumbs.db", "desktop.ini")),
    (
        "vcs metadata",
        (
            ".git",
            ".gitignore",
            ".gitattributes",
            ".gitmodules",
            ".gitkeep",
            ".keep",
            ".lessongenignore",
            ".hgignore",
            ".mailmap",
            ".git-blame-ignore-revs",
        ),
    ),
)


def default_dir_reason(name: str, has_pyvenv_cfg: bool = False) -> str | None:
    """Why a folder is left out by default, or None."""
    if has_pyvenv_cfg:
        return "virtualenv"
    if name.endswith(".egg-info"):
        return "build output"
    return DEFAULT_DIRS.get(name)


# One compiled regex per reason: a scan of 50,000 files asks this 50,000 times.
_FILE_MATCHERS = tuple(
    (reason, re.compile("|".join(fnmatch.translate(p) for p in patterns))) for reason, patterns in _FILE_RULES
)


def default_file_reason(name: str) -> str | None:
    """Why a file is left out by default from its name alone, or None."""
    lowered = name.lower()
    for reason, matcher in _FILE_MATCHERS:
        if matcher.match(lowered):
            return reason
    return None


def content_reason(path: str, head: str) -> str | None:
    """Why a decoded file is left out by its content: generated headers or minified code."""
    first_lines = "\n".join(head[:2000].lower().splitlines()[:5])
    if "@generated" in first_lines or "do not edit" in first_lines or "autogenerated" in first_lines:
        return "generated"
    if path.endswith((".js", ".css", ".mjs", ".cjs")):
        lines = head.count("\n") + 1
        if len(head) / lines > 500:
            return "minified bundle"
    return None


@dataclass(frozen=True)
class RuleLayer:
    """One ignore file's rules, anchored at a folder (relative to the repository, '' for its root).

    `prefix` is prepended for layers that sit above the repository root (a parent .gitignore).
    `dir_spec` judges folders when it differs from `spec` (see `_folder_line`).
    """

    base: str
    spec: pathspec.GitIgnoreSpec
    reason: str
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


def layer_from_lines(lines: Iterable[str], base: str, reason: str, prefix: str = "") -> RuleLayer | None:
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


def decide(layers: Sequence[RuleLayer], rel: str, is_dir: bool) -> str | None:
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
