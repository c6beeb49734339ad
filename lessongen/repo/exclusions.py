"""Paths left out by default, each with a named reason: by folder name, file name or content."""

from __future__ import annotations

import fnmatch
import re

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
    # .tours holds CodeTour walkthroughs, lessongen's own among them once copied into the repository.
    **dict.fromkeys((".idea", ".vscode", ".vs", ".tours"), "editor settings"),
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
