"""The repository walk on real folders in tmp_path: git's view, reading, symlinks and odd files."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import subprocess
import threading
from pathlib import Path

import pytest
from helpers import no_git, write

from lessongen.repo.reading import read_source
from lessongen.repo.walk import probe_git, scan_repository
from lessongen.shared.data import RepoScan, SkippedPath, SourceFile

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="needs the git binary")
as_root = os.name == "posix" and os.geteuid() == 0


def git(cwd: Path, *args: str) -> None:
    """Run git in `cwd` with a throwaway identity and no signing, failing the test on error."""
    config = ("-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false")
    subprocess.run(["git", *config, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def included(result: RepoScan) -> list[str]:
    return [f.path for f in result.files]


def reasons(result: RepoScan) -> dict[str, str]:
    return {s.path: s.reason for s in result.skipped}


# --- git's view ------------------------------------------------------------------------------------


@needs_git
def test_tracked_but_ignored_file_is_included_untracked_ignored_is_not(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            ".gitignore": "*.log\ngen/\n",
            "app.py": "a = 1\n",
            "tracked.log": "committed on purpose\n",
            "untracked.log": "noise\n",
            "gen/kept.py": "committed on purpose\n",
            "gen/new.py": "noise\n",
        },
    )
    git(root, "init", "-q")
    git(root, "add", ".gitignore", "app.py")
    git(root, "add", "-f", "tracked.log", "gen/kept.py")
    git(root, "commit", "-q", "-m", "init")
    result = scan_repository(root)
    assert result.git is True
    assert included(result) == ["app.py", "gen/kept.py", "tracked.log"]
    assert reasons(result) == {
        ".git/": "vcs folder",
        ".gitignore": "vcs metadata",
        "gen/new.py": "gitignore",
        "untracked.log": "gitignore",
    }


@needs_git
def test_git_info_exclude_in_a_real_work_tree(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"app.py": "a = 1\n", "notes.scratch": "mine\n"})
    git(root, "init", "-q")
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("*.scratch\n")
    result = scan_repository(root)
    assert result.git is False  # a work tree with nothing tracked yet
    assert included(result) == ["app.py"]
    assert reasons(result) == {".git/": "vcs folder", "notes.scratch": "git info/exclude"}


@needs_git
def test_subfolder_of_a_work_tree_honours_the_parents_ignore_rules(tmp_path: Path) -> None:
    top = write(
        tmp_path / "top",
        {
            ".gitignore": "*.log\n/sub/local.txt\n/top-only.txt\n",
            "README.md": "top\n",
            "sub/app.py": "a = 1\n",
            "sub/debug.log": "noise\n",
            "sub/forced.log": "committed on purpose\n",
            "sub/local.txt": "noise\n",
            "sub/top-only.txt": "kept: that rule is anchored at the top\n",
            "sub/inner/local.txt": "kept: that rule is anchored at sub\n",
            "sub/notes.scratch": "mine\n",
        },
    )
    git(top, "init", "-q")
    (top / ".git" / "info").mkdir(exist_ok=True)
    (top / ".git" / "info" / "exclude").write_text("*.scratch\n")
    git(top, "add", ".gitignore", "README.md", "sub/app.py")
    git(top, "add", "-f", "sub/forced.log")
    git(top, "commit", "-q", "-m", "init")
    result = scan_repository(top / "sub")
    assert result.root == (top / "sub").resolve()
    assert result.git is True
    assert included(result) == ["app.py", "forced.log", "inner/local.txt", "top-only.txt"]
    assert reasons(result) == {
        "debug.log": "gitignore",
        "local.txt": "gitignore",
        "notes.scratch": "git info/exclude",
    }


@needs_git
def test_ignore_rules_agree_with_git(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            ".gitignore": b"\xef\xbb\xbf*.log\r\n!keep.log\nout/\n/root.txt\n"
            b"logs/*\n!logs/keep.log\ndocs/**\n!docs/a.md\n",
            "a.log": "x\n",
            "keep.log": "x\n",
            "root.txt": "x\n",
            "out/a.py": "x\n",
            "src/out": "x\n",
            "logs/keep.log": "x\n",
            "logs/b.log": "x\n",
            "docs/a.md": "x\n",
            "docs/b.md": "x\n",
            "docs/c/d.md": "x\n",
            "pkg/.gitignore": "*.tmp\n/local.txt\n!*.log\ngen/out.txt\n",
            "pkg/a.tmp": "x\n",
            "pkg/local.txt": "x\n",
            "pkg/root.txt": "x\n",
            "pkg/b.log": "x\n",
            "pkg/gen/out.txt": "x\n",
            "pkg/deep/local.txt": "x\n",
            "pkg/deep/c.tmp": "x\n",
            "pkg/deep/.gitignore": "!*.tmp\n",
            "pkg/deep/more/d.tmp": "x\n",
            "a.tmp": "x\n",
            "main.py": "x\n",
            "notes.scratch": "x\n",
            "pkg/notes.scratch": "x\n",
        },
    )
    git(root, "init", "-q")
    (root / ".git" / "info").mkdir(exist_ok=True)
    (root / ".git" / "info" / "exclude").write_text("*.scratch\n")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout.decode()
    seen_by_git = sorted(p for p in listed.split("\0") if p and not p.endswith(".gitignore"))
    assert seen_by_git == [
        "a.tmp",
        "docs/a.md",
        "keep.log",
        "logs/keep.log",
        "main.py",
        "pkg/b.log",
        "pkg/deep/c.tmp",
        "pkg/deep/local.txt",
        "pkg/deep/more/d.tmp",
        "pkg/root.txt",
        "src/out",
    ]
    assert included(scan_repository(root)) == seen_by_git


@needs_git
def test_probe_git_sees_tracked_files_and_the_layers_above(tmp_path: Path) -> None:
    top = write(tmp_path / "top", {".gitignore": "*.log\n", "sub/app.py": "a = 1\n", "other.py": "b = 1\n"})
    git(top, "init", "-q")
    (top / ".git" / "info").mkdir(exist_ok=True)
    (top / ".git" / "info" / "exclude").write_text("*.scratch\n")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "init")
    at_top = probe_git(top)
    assert at_top is not None
    assert at_top.tracked == frozenset({".gitignore", "sub/app.py", "other.py"})
    assert [layer.reason for layer in at_top.layers] == ["git info/exclude"]  # top's .gitignore is walked
    below = probe_git(top / "sub")
    assert below is not None
    assert below.tracked == frozenset({"app.py"})
    assert [layer.reason for layer in below.layers] == ["git info/exclude", "gitignore"]


@needs_git
def test_probe_git_through_a_symlinked_path(tmp_path: Path) -> None:
    top = write(tmp_path / "top", {"sub/app.py": "a = 1\n"})
    git(top, "init", "-q")
    git(top, "add", ".")
    git(top, "commit", "-q", "-m", "init")
    (tmp_path / "link").symlink_to(top, target_is_directory=True)
    view = probe_git(tmp_path / "link" / "sub")
    assert view is not None
    assert view.tracked == frozenset({"app.py"})


@needs_git
def test_probe_git_outside_a_work_tree_is_none(tmp_path: Path) -> None:
    root = write(tmp_path / "plain", {"app.py": "a = 1\n"})
    assert probe_git(root) is None
    result = scan_repository(root)
    assert result.git is False
    assert included(result) == ["app.py"]


# --- reading one file --------------------------------------------------------------------------------


def read(path: Path, cap: int = 1_000_000) -> SourceFile | SkippedPath:
    return read_source(path, path.name, path.stat().st_size, cap)


def test_read_source_reads_text_with_digest_and_size(tmp_path: Path) -> None:
    raw = b"def f():\n    return 1\n"
    path = write(tmp_path, {"f.py": raw}) / "f.py"
    digest = hashlib.blake2b(raw, digest_size=16).hexdigest()
    assert read(path) == SourceFile(path="f.py", text=raw.decode(), digest=digest, size=len(raw))


def test_nul_bytes_make_a_python_file_binary(tmp_path: Path) -> None:
    path = write(tmp_path, {"blob.py": b"print(1)\n\x00\x01\x02"}) / "blob.py"
    assert read(path) == SkippedPath("blob.py", "binary", "NUL bytes")


def test_utf16_text_is_binary(tmp_path: Path) -> None:
    path = write(tmp_path, {"notes.txt": "hello\n".encode("utf-16")}) / "notes.txt"
    assert read(path) == SkippedPath("notes.txt", "binary", "NUL bytes")


def test_text_with_an_unknown_extension_is_included(tmp_path: Path) -> None:
    path = write(tmp_path, {"records.dat": "id,name\n1,ada\n"}) / "records.dat"
    result = read(path)
    assert isinstance(result, SourceFile)
    assert (result.path, result.text, result.note) == ("records.dat", "id,name\n1,ada\n", "")


def test_a_few_invalid_utf8_bytes_are_replaced_with_a_note(tmp_path: Path) -> None:
    raw = "name = 'café'\n".encode() + b"bad = '\xff\xfe'\n" + b"# padding line\n" * 20
    path = write(tmp_path, {"broken.py": raw}) / "broken.py"
    result = read(path)
    assert isinstance(result, SourceFile)
    assert result.note == "2 invalid UTF-8 byte(s) replaced"  # UTF-8 elsewhere: not another encoding
    assert result.text.startswith("name = 'café'\nbad = '\ufffd\ufffd'\n")
    assert result.size == len(raw)
    assert result.digest == hashlib.blake2b(raw, digest_size=16).hexdigest()  # of the bytes on disk


def test_mostly_invalid_utf8_is_binary(tmp_path: Path) -> None:
    path = write(tmp_path, {"blob.txt": bytes(range(0x80, 0x100)) * 4}) / "blob.txt"
    assert read(path) == SkippedPath("blob.txt", "binary", "not text in any encoding")


def test_crlf_is_normalised_and_bom_dropped(tmp_path: Path) -> None:
    raw = b"\xef\xbb\xbfa = 1\r\nb = 2\r\n"
    path = write(tmp_path, {"win.py": raw}) / "win.py"
    result = read(path)
    assert isinstance(result, SourceFile)
    assert result.text == "a = 1\nb = 2\n"
    assert result.size == len(raw)


@pytest.mark.parametrize("raw", [b"", b"  \n\t\r\n  ", b"\xef\xbb\xbf\n"], ids=["empty", "whitespace", "bom"])
def test_empty_and_whitespace_only_files_are_empty(tmp_path: Path, raw: bytes) -> None:
    path = write(tmp_path, {"blank.py": raw}) / "blank.py"
    assert read(path) == SkippedPath("blank.py", "empty")


def test_above_the_cap_is_too_large_and_not_opened(tmp_path: Path) -> None:
    # The path does not exist: had read_source opened it, the answer would be "unreadable".
    result = read_source(tmp_path / "missing.py", "missing.py", 5_000, 1_000)
    assert result == SkippedPath("missing.py", "too large", "5,000 bytes > max_file_bytes 1,000")


def test_a_file_that_grew_past_the_cap_after_listing_is_too_large(tmp_path: Path) -> None:
    path = write(tmp_path, {"grows.py": "x = 1\n" * 50}) / "grows.py"
    result = read_source(path, "grows.py", 10, 100)
    assert result == SkippedPath("grows.py", "too large", "more than max_file_bytes 100")


def test_read_source_on_a_folder_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    result = read_source(tmp_path / "pkg", "pkg", 0, 100)
    assert result == SkippedPath("pkg", "unreadable", "a folder, not a regular file")


def test_read_source_on_a_vanished_file_is_unreadable(tmp_path: Path) -> None:
    path = write(tmp_path, {"gone.py": "x = 1\n"}) / "gone.py"
    size = path.stat().st_size
    path.unlink()
    result = read_source(path, "gone.py", size, 100)
    assert result == SkippedPath("gone.py", "unreadable", os.strerror(errno.ENOENT))


# --- the walk ----------------------------------------------------------------------------------------


def test_size_cap_in_a_scan(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"big.py": "x" * 101, "exact.py": "y" * 100})
    result = scan_repository(root, max_file_bytes=100, git_probe=no_git)
    assert included(result) == ["exact.py"]
    assert result.skipped == (SkippedPath("big.py", "too large", "101 bytes > max_file_bytes 100"),)


def test_content_checks_in_a_scan(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "blob.py": b"x = 1\n\x00",
            "records.dat": "1,ada\n",
            "latin.txt": b"caf\xe9 " + b"au lait\n" * 10,
            "noise.txt": bytes(range(0x80, 0x100)),
            "win.py": b"a = 1\r\n",
            "blank.py": b" \n",
        },
    )
    result = scan_repository(root, git_probe=no_git)
    assert included(result) == ["latin.txt", "records.dat", "win.py"]
    assert [f.note for f in result.files] == ["not UTF-8: decoded as cp1252", "", ""]
    assert result.files[2].text == "a = 1\n"
    assert reasons(result) == {"blank.py": "empty", "blob.py": "binary", "noise.txt": "binary"}


def test_symlinks_are_skipped_with_reasons_and_nothing_outside_is_read(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.txt": "OUTSIDE-CONTENT\n"})
    sibling = write(tmp_path / "repo-sibling", {"x.py": "SIBLING-CONTENT\n"})  # shares the root's prefix
    root = write(tmp_path / "repo", {"main.py": "x = 1\n", "sub/real.py": "y = 1\n"})
    (root / "sub" / "up").symlink_to("..", target_is_directory=True)  # loop: back to the root
    (root / "sub" / "self").symlink_to(".", target_is_directory=True)  # loop: its own folder
    (root / "alias.py").symlink_to("sub/real.py")
    (root / "outside_dir").symlink_to(outside, target_is_directory=True)
    (root / "outside_file.txt").symlink_to(outside / "secret.txt")
    (root / "sibling.py").symlink_to(sibling / "x.py")
    (root / "broken.py").symlink_to("missing.py")
    (root / "me").symlink_to("me")  # a link to itself never resolves
    opened: list[Path] = []

    def recording_read(path: Path, rel: str, size: int, cap: int) -> SourceFile | SkippedPath:
        opened.append(path)
        return read_source(path, rel, size, cap)

    result = scan_repository(root, git_probe=no_git, read=recording_read)
    assert included(result) == ["main.py", "sub/real.py"]
    assert reasons(result) == {
        "alias.py": "symlink inside repository",
        "broken.py": "broken symlink",
        "me": "broken symlink",
        "outside_dir": "symlink outside repository",
        "outside_file.txt": "symlink outside repository",
        "sibling.py": "symlink outside repository",
        "sub/self": "symlink inside repository",
        "sub/up": "symlink inside repository",
    }
    alias = next(s for s in result.skipped if s.path == "alias.py")
    assert alias.detail == "its target sub/real.py is walked itself"
    assert sorted(opened) == [root.resolve() / "main.py", root.resolve() / "sub" / "real.py"]
    assert not any("CONTENT" in f.text for f in result.files)


def test_a_reader_that_cannot_open_one_file_costs_only_that_file(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"a.py": "a = 1\n", "locked.py": "b = 1\n", "z.py": "z = 1\n"})

    def denying_read(path: Path, rel: str, size: int, cap: int) -> SourceFile | SkippedPath:
        if rel == "locked.py":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        return read_source(path, rel, size, cap)

    result = scan_repository(root, git_probe=no_git, read=denying_read)
    assert included(result) == ["a.py", "z.py"]
    assert result.skipped == (SkippedPath("locked.py", "unreadable", os.strerror(errno.EACCES)),)


def test_a_reader_answer_of_unreadable_is_kept(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"a.py": "a = 1\n", "locked.py": "b = 1\n"})
    denied = SkippedPath("locked.py", "unreadable", os.strerror(errno.EACCES))

    def denying_read(path: Path, rel: str, size: int, cap: int) -> SourceFile | SkippedPath:
        return denied if rel == "locked.py" else read_source(path, rel, size, cap)

    result = scan_repository(root, git_probe=no_git, read=denying_read)
    assert included(result) == ["a.py"]
    assert result.skipped == (denied,)


@pytest.mark.skipif(as_root or os.name != "posix", reason="root reads through chmod 000")
def test_unreadable_file_and_folder_with_real_permissions(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"a.py": "a = 1\n", "locked.py": "b = 1\n", "closed/c.py": "c = 1\n"})
    (root / "locked.py").chmod(0)
    (root / "closed").chmod(0)
    try:
        result = scan_repository(root, git_probe=no_git)
    finally:
        (root / "closed").chmod(0o755)
        (root / "locked.py").chmod(0o644)
    denied = os.strerror(errno.EACCES)
    assert included(result) == ["a.py"]
    assert result.skipped == (
        SkippedPath("closed/", "unreadable", denied),
        SkippedPath("locked.py", "unreadable", denied),
    )


@pytest.mark.skipif(not os.path.exists("/proc/self"), reason="needs Linux path limits")
def test_a_folder_that_cannot_be_listed_is_unreadable(tmp_path: Path) -> None:
    # Runs as root too: a folder whose absolute path passes PATH_MAX cannot be listed by its path.
    root = write(tmp_path / "repo", {"a.py": "a = 1\n"})
    name = "d" * 200
    limit = os.pathconf(root, "PC_PATH_MAX")
    parts: list[str] = []
    fd = os.open(root, os.O_RDONLY)
    try:
        while len(os.fspath(root)) + len(parts) * (len(name) + 1) < limit:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            parts.append(name)
    finally:
        os.close(fd)
    try:
        result = scan_repository(root, git_probe=no_git)
    finally:
        shutil.rmtree(root / name)
    assert included(result) == ["a.py"]
    too_deep = "/".join(parts) + "/"
    assert result.skipped == (SkippedPath(too_deep, "unreadable", os.strerror(errno.ENAMETOOLONG)),)


def test_order_is_by_path_and_repeatable(tmp_path: Path) -> None:
    names = ("b.py", "a/z.py", "a.py", "A.py", "a-b/x.py", "a/b/c.py", "a/b.py", "_x.py", "pkg/__init__.py")
    root = write(tmp_path / "repo", {name: f"# {name}\n" for name in names})
    write(root, {"z.lock": "x\n", "a/y.lock": "x\n", "m.png": b"\x89PNG"})
    first = scan_repository(root, git_probe=no_git)
    second = scan_repository(root, git_probe=no_git)
    assert included(first) == [
        "A.py",
        "_x.py",
        "a-b/x.py",
        "a.py",
        "a/b.py",
        "a/b/c.py",
        "a/z.py",
        "b.py",
        "pkg/__init__.py",
    ]
    assert [s.path for s in first.skipped] == ["a/y.lock", "m.png", "z.lock"]
    assert first == second


def test_output_folder_is_skipped(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "app.py": "a = 1\n",
            "lessons/script.md": "# lesson\n",
            "docs/lessons/x.md": "x\n",  # only the output folder itself, not every folder of that name
        },
    )
    result = scan_repository(root, skip_dirs=(root / "docs" / ".." / "lessons",), git_probe=no_git)
    assert included(result) == ["app.py", "docs/lessons/x.md"]
    assert result.skipped == (SkippedPath("lessons/", "lessongen output"),)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_not_a_regular_file_and_does_not_block(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"app.py": "a = 1\n"})
    os.mkfifo(root / "pipe.py")
    results: list[RepoScan] = []

    def scan() -> None:
        results.append(scan_repository(root, git_probe=no_git))

    worker = threading.Thread(target=scan, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "the scan blocked on the FIFO"
    assert included(results[0]) == ["app.py"]
    assert results[0].skipped == (SkippedPath("pipe.py", "not a regular file"),)


@pytest.mark.parametrize(
    ("raw", "text", "encoding"),
    [
        (b'name = "caf\xe9"\n', 'name = "café"\n', "cp1252"),  # the file: one byte in 14
        ("# Don’t forget: the café’s “special” costs 5 €.\nprice = 5\n".encode("cp1252"), None, "cp1252"),
        ("# Привет, мир! Это тестовый комментарий\nx = 1\n".encode("cp1251"), None, "cp1251"),
        ('こんにちは世界 = "テスト"\n'.encode("shift_jis"), 'こんにちは世界 = "テスト"\n', "cp932"),
    ],
)
def test_text_in_another_encoding_is_decoded_and_noted(
    tmp_path: Path, raw: bytes, text: str | None, encoding: str
) -> None:
    path = write(tmp_path, {"legacy.py": raw}) / "legacy.py"
    result = read(path)
    assert isinstance(result, SourceFile)
    assert result.note == f"not UTF-8: decoded as {encoding}"
    assert result.text == (text or raw.decode(encoding))
    assert result.digest == hashlib.blake2b(raw, digest_size=16).hexdigest()  # of the bytes on disk
