"""Hostile repositories, built at run time in tmp_path: each gives a report entry or a clear message.

Never a traceback, and the plan stays within bounded memory. Nothing large is written to disk: the
multi-gigabyte file is sparse. The fast suite uses inputs large enough to take the same code paths
(many batches, a line split into many parts, runs counted in slices); the full-size inputs, and the
plan in its own process under a memory limit, are marked slow, and how the time grows with the size is measured by benchmarks/hostile_inputs.py.
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from fake_openai import ChapterResponder, FakeServer, RecordedRequest, Reply
from helpers import no_git, write
from typer.testing import CliRunner, Result

import lessongen.tokens.counter as counter_module
from lessongen.cli import app
from lessongen.repo.reading import read_source
from lessongen.repo.walk import scan_repository
from lessongen.shared.data import SkippedPath, SourceFile
from lessongen.tokens.counter import TokenCounter, load_encoding

ENV = {"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"}
PACKAGE_ROOT = Path(__file__).resolve().parents[1]
GIB = 2**30


def invoke(*args: str) -> Result:
    """The CLI in-process; a crash (anything but a clean exit) fails the test with its traceback."""
    result = CliRunner().invoke(app, list(args), env=ENV)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"lessongen crashed: {result.exception!r}") from result.exception
    assert "Traceback" not in result.stderr
    return result


def plan(repo: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """`lessongen plan --json`: the exit code and the report."""
    result = invoke("plan", str(repo), "--json", "--no-git", *args)
    assert result.stdout.strip(), result.stderr
    return result.exit_code, json.loads(result.stdout)


def entries(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["path"]: f for f in report["files"]}


def reasons(report: dict[str, Any]) -> dict[str, str]:
    return {f["path"]: f["reason"] for f in report["files"] if not f["included"]}


def included(report: dict[str, Any]) -> list[str]:
    return [f["path"] for f in report["files"] if f["included"]]


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def letters(size: int, seed: int = 1) -> bytes:
    """`size` random lowercase letters: one pre-token for tiktoken, its slowest input."""
    table = bytes(ord("a") + b % 26 for b in range(256))
    return random.Random(seed).randbytes(size).translate(table)


def sparse(path: Path, size: int) -> Path:
    """A file of `size` bytes that takes no disk space; skips the test where that is not possible."""
    with path.open("wb") as handle:
        handle.truncate(size)
    if path.stat().st_blocks * 512 > 2**20:
        path.unlink()
        pytest.skip("this file system does not support sparse files")
    return path


# --- links -------------------------------------------------------------------------------------------


def test_symlink_loops_and_links_outside_are_reported(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"secret.txt": "OUTSIDE-CONTENT\n"})
    root = write(tmp_path / "repo", {"main.py": "x = 1\n", "sub/real.py": "y = 1\n"})
    (root / "sub" / "up").symlink_to("..", target_is_directory=True)
    (root / "sub" / "self").symlink_to(".", target_is_directory=True)
    (root / "ping").symlink_to("pong")
    (root / "pong").symlink_to("ping")
    (root / "me").symlink_to("me")
    (root / "slash").symlink_to("/", target_is_directory=True)
    (root / "passwd").symlink_to("/etc/passwd")
    (root / "outside_dir").symlink_to(outside, target_is_directory=True)
    (root / "outside_file.txt").symlink_to(outside / "secret.txt")
    (root / "escape.py").symlink_to("sub/up/../outside/secret.txt")  # through the loop, then out
    chain = "sub/real.py"
    for i in range(30):  # a long chain of links that ends inside
        (root / f"link{i:02d}").symlink_to(chain)
        chain = f"link{i:02d}"
    code, report = plan(root)
    assert code == 0
    assert included(report) == ["main.py", "sub/real.py"]
    found = reasons(report)
    for name in ("ping", "pong", "me"):
        assert found.pop(name) == "broken symlink"
    for name in ("slash", "passwd", "outside_dir", "outside_file.txt", "escape.py"):
        assert found.pop(name) == "symlink outside repository"
    assert found.pop("sub/up") == found.pop("sub/self") == "symlink inside repository"
    assert set(found.values()) == {"symlink inside repository"} and len(found) == 30
    assert report["totals"]["source_tokens"] < 20  # nothing outside was read


# --- size ---------------------------------------------------------------------------------------------


def test_sparse_multi_gigabyte_file_is_too_large_without_being_read(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"app.py": "x = 1\n"})
    sparse(root / "huge.py", 3 * GIB)
    tracemalloc.start()
    try:
        scan = scan_repository(root, git_probe=no_git)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scan.skipped == (
        SkippedPath("huge.py", "too large", "3,221,225,472 bytes > max_file_bytes 1,000,000"),
    )
    assert peak < 16 * 2**20
    code, report = plan(root)
    assert code == 0
    assert entries(report)["huge.py"]["reason"] == "too large"


def test_sparse_file_under_a_raised_cap_is_binary_after_one_small_read(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"app.py": "x = 1\n"})
    sparse(root / "zeros.py", 3 * GIB)
    tracemalloc.start()
    try:
        scan = scan_repository(root, git_probe=no_git, max_file_bytes=4 * GIB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert scan.skipped == (SkippedPath("zeros.py", "binary", "NUL bytes"),)
    assert peak < 16 * 2**20


def tiny_files(root: Path, folders: int, per_folder: int = 500) -> int:
    """`folders` packages of `per_folder` one-line modules; returns how many files were made."""
    for folder in range(folders):
        path = root / f"pkg{folder:03d}"
        path.mkdir(parents=True)
        for i in range(per_folder):
            fd = os.open(path / f"m{i:03d}.py", os.O_WRONLY | os.O_CREAT, 0o644)
            os.write(fd, b"x = %d\n" % i)
            os.close(fd)
    return folders * per_folder


# 2,000 files already fill several batches of hundreds of files each; 50,000 is the full-size case.
@pytest.mark.parametrize("folders", [4, pytest.param(100, marks=pytest.mark.slow)])
def test_thousands_of_tiny_files(tmp_path: Path, folders: int) -> None:
    root = tmp_path / "repo"
    made = tiny_files(root, folders)
    code, report = plan(root)
    assert code == 0
    assert report["totals"]["files_included"] == made
    assert report["totals"]["files_skipped"] == 0
    assert sum(len(b["files"]) for b in report["batches"]) == made
    assert len(report["batches"]) >= folders


# --- depth ---------------------------------------------------------------------------------------------


def deep_tree(root: Path, name: str, levels: int = 200) -> list[str]:
    """`levels` nested folders, each with one module; made through folder handles so no path limit applies.

    Returns the relative folder paths, shallowest first.
    """
    write(root, {"top.py": "top = 0\n"})
    folders: list[str] = []
    fd = os.open(root, os.O_RDONLY)
    try:
        for level in range(levels):
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            module = os.open("m.py", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
            os.write(module, b"depth = %d\n" % level)
            os.close(module)
            folders.append("/".join([name] * (level + 1)))
    finally:
        os.close(fd)
    return folders


def test_two_hundred_levels_deep_within_path_max(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    folders = deep_tree(root, "d")
    code, report = plan(root)
    assert code == 0
    assert included(report) == sorted(["top.py", *(f + "/m.py" for f in folders)])


@pytest.mark.skipif(not os.path.exists("/proc/self"), reason="needs Linux path limits")
def test_two_hundred_levels_deep_beyond_path_max_reports_the_unreachable_rest(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    name = "level_folder_with_a_long_name"
    folders = deep_tree(root, name)
    limit = os.pathconf(root, "PC_PATH_MAX")
    base = len(os.fspath(root.resolve())) + 1
    try:
        scan = scan_repository(root, git_probe=no_git)
        code, report = plan(root)
    finally:
        shutil.rmtree(root / name)  # fd-based: copes with the long paths
    reachable = [f for f in folders if base + len(f) < limit]
    assert 0 < len(reachable) < len(folders)
    # Every folder the system can name is walked; the first one it cannot is reported, and nothing else.
    too_long = os.strerror(errno.ENAMETOOLONG)
    kept = {f.path for f in scan.files}
    assert kept >= {f + "/m.py" for f in reachable if base + len(f) + len("/m.py") < limit}
    assert [s.reason for s in scan.skipped] == ["unreadable"] * len(scan.skipped)
    assert all(s.detail == too_long for s in scan.skipped)
    assert scan.skipped[-1].path == folders[len(reachable)] + "/"
    assert code == 0
    assert entries(report)[folders[len(reachable)] + "/"]["reason"] == "unreadable"


def test_long_paths_are_charged_to_the_batch_budget(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    deep_tree(root, "level_folder_name", levels=150)
    code, report = plan(root)
    budget = report["batch_budget_tokens"]
    batch_calls = [c for c in report["calls"] if c["kind"] == "batch"]
    assert code == 0, report["reason"]
    assert all(c["new_tokens"] <= budget * 1.2 for c in batch_calls), [c["new_tokens"] for c in batch_calls]


# --- content -------------------------------------------------------------------------------------------


def test_invalid_utf8_nul_bytes_and_special_token_text(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {
            "latin.py": b"name = 'caf\xe9'\n" + b"x = 1\n" * 20,
            "surrogate.py": b"s = '\xed\xa0\x80'\n" + b"y = 2\n" * 20,  # an encoded surrogate: invalid
            "noise.txt": bytes(range(0x80, 0x100)) * 4,
            "nul.py": b"a = 1\n\x00\x00b = 2\n",
            "late_nul.py": b"c = 3\n" * 3000 + b"\x00",  # past the first 8 KB
            "utf16.py": "u = 1\n".encode("utf-16"),
            "eot.py": "marker = '<|endoftext|>'\nprompt = '<|endofprompt|><|fim_prefix|>'\n",
            "bom.py": b"\xef\xbb\xbfz = 1\n",
        },
    )
    code, report = plan(root)
    assert code == 0
    assert included(report) == ["bom.py", "eot.py", "latin.py", "surrogate.py"]
    found = {path: (f["reason"], f["detail"]) for path, f in entries(report).items() if not f["included"]}
    assert found == {
        "late_nul.py": ("binary", "NUL bytes"),
        "noise.txt": ("binary", "not text in any encoding"),
        "nul.py": ("binary", "NUL bytes"),
        "utf16.py": ("binary", "NUL bytes"),
    }
    eot = entries(report)["eot.py"]
    text = (root / "eot.py").read_text()
    assert eot["tokens"] == len(load_encoding("o200k_base").encode_ordinary(text))


def test_the_plan_notes_replaced_invalid_utf8(tmp_path: Path) -> None:
    broken = "name = 'café'\n".encode() + b"bad = '\xe9'\n" + b"x = 1\n" * 20
    root = write(tmp_path / "repo", {"broken.py": broken})
    code, report = plan(root)
    assert code == 0
    assert "1 invalid UTF-8 byte(s) replaced" in str(entries(report)["broken.py"].get("detail"))


def test_file_and_folder_names_that_are_not_utf8(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"ok.py": "x = 1\n"})
    folder = os.fsencode(root)
    with open(os.path.join(folder, b"caf\xe9.py"), "wb") as handle:
        handle.write(b"y = 2\n")
    os.mkdir(os.path.join(folder, b"d\xfcr"))
    with open(os.path.join(folder, b"d\xfcr", b"inner.py"), "wb") as handle:
        handle.write(b"z = 3\n")
    code, report = plan(root)
    assert code == 0
    assert included(report) == ["ok.py"]
    assert {(f["path"], f["reason"], f["detail"]) for f in report["files"] if not f["included"]} == {
        ("caf\ufffd.py", "unreadable", "the name is not valid UTF-8"),
        ("d\ufffdr", "unreadable", "the name is not valid UTF-8"),
    }


def test_a_live_run_with_a_non_utf8_file_name_completes(tmp_path: Path, fake_openai: FakeServer) -> None:
    root = write(tmp_path / "repo", {"ok.py": "x = 1\n"})
    with open(os.path.join(os.fsencode(root), b"caf\xe9.py"), "wb") as handle:
        handle.write(b"y = 2\n")
    result = live(fake_openai, root, tmp_path / "lesson")
    assert result.exit_code == 0, result.stderr
    assert json.loads((tmp_path / "lesson" / "script.json").read_text())["complete"] is True


def test_a_live_run_in_a_folder_whose_name_is_not_utf8(tmp_path: Path, fake_openai: FakeServer) -> None:
    root = Path(os.fsdecode(os.path.join(os.fsencode(tmp_path), b"r\xe9po")))
    write(root, {"ok.py": "x = 1\n"})
    result = live(fake_openai, root, tmp_path / "lesson")
    assert result.exit_code == 0, result.stderr


def test_a_reply_with_a_lone_surrogate_is_saved(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"ok.py": "x = 1\n"})
    chapters = ChapterResponder()

    def hostile(request: RecordedRequest) -> Reply:
        return Reply(chapters(request).content.replace("This scene", "This sc\udce9ne"))

    with FakeServer(responder=hostile) as server:
        result = live(server, root, tmp_path / "lesson")
    assert result.exit_code == 0, result.stderr


def live(server: FakeServer, repo: Path, out: Path) -> Result:
    """`lessongen run` in-process against the fake server; a traceback fails the test at its assert."""
    env = {**ENV, "OPENAI_API_KEY": "sk-test-" + "h" * 24}
    argv = ["run", str(repo), "--no-git", "--base-url", server.base_url, "--output", str(out)]
    result = CliRunner().invoke(app, [*argv, "--max-retries", "0"], env=env)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"lessongen crashed: {result.exception!r}") from result.exception
    return result


# --- huge lines and runs -----------------------------------------------------------------------------


def test_five_megabyte_line_is_too_large_by_default(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"app.py": "x = 1\n", "blob.txt": letters(5_000_000)})
    code, report = plan(root)
    assert code == 0
    blob = entries(report)["blob.txt"]
    assert (blob["reason"], blob["detail"]) == ("too large", "5,000,000 bytes > max_file_bytes 1,000,000")


# 1.2 MB is over the default cap and splits into dozens of parts; 5 MB is the full-size case.
@pytest.mark.parametrize("size", [1_200_000, pytest.param(5_000_000, marks=pytest.mark.slow)])
def test_a_megabytes_long_line_under_a_raised_cap_is_split(tmp_path: Path, size: int) -> None:
    root = write(tmp_path / "repo", {"app.py": "x = 1\n", "blob.txt": letters(size)})
    code, report = plan(root, "--max-file-bytes", str(size + 1_000_000))
    assert code == 0, report["reason"]
    labels = [
        label for batch in report["batches"] for label in batch["files"] if label.startswith("blob.txt")
    ]
    assert len(labels) > 10
    assert all("(part" in label and "lines 1-1" in label for label in labels)
    budget = report["batch_budget_tokens"]
    assert all(batch["tokens"] <= budget for batch in report["batches"])


def test_a_million_character_whitespace_run_is_counted(tmp_path: Path) -> None:
    # tiktoken's regex engine panics (a BaseException, so a traceback) on a whitespace run this long.
    root = write(tmp_path / "repo", {"gap.py": "start = 1\n" + " " * 1_500_000 + "end = 2\n"})
    code, report = plan(root, "--max-file-bytes", "2000000")
    assert code == 0
    assert entries(report)["gap.py"]["included"]


def test_counting_huge_runs_is_bounded_and_ordinary_text_is_exact() -> None:
    counter = TokenCounter.for_model("gpt-4o-mini")
    encoding = load_encoding("o200k_base")
    ordinary = (PACKAGE_ROOT / "lessongen" / "repo" / "walk.py").read_text() * 5
    assert counter.count(ordinary) == len(encoding.encode_ordinary(ordinary))
    assert counter_module._long_run_slices(ordinary) == [ordinary]  # ordinary text is never cut
    # 100,000 characters is 12 slices of each run; benchmarks/hostile_inputs.py times 2,000,000.
    runs = {
        "letters": letters(100_000).decode(),
        "spaces": "x" + " " * 100_000 + "x",
        "newlines": "x" + "\n" * 100_000 + "x",
        "slashes": "!" + "\n/" * 50_000,
        "specials": "<|endoftext|>" * 10_000,
    }
    for name, text in runs.items():
        tokens = counter.count(text)
        assert tokens > 0, name
        # The cost stays linear: the run is counted in slices of _RUN characters (one more for the
        # character before or after the run).
        slices = counter_module._long_run_slices(text)
        assert "".join(slices) == text, name
        assert len(slices) > 10 and max(map(len, slices)) <= counter_module._RUN + 1, name
    exact = len(encoding.encode_ordinary(runs["letters"]))
    assert abs(counter.count(runs["letters"]) - exact) <= exact * 0.001  # the cost of slicing long runs


@pytest.mark.slow  # a real process and the full-size inputs
def test_hostile_repository_plans_within_a_memory_limit(tmp_path: Path) -> None:
    """The plan in its own process under a 1 GiB address-space limit, with the file cap raised to 4 GiB."""
    root = write(
        tmp_path / "repo",
        {
            "app.py": "x = 1\n",
            "blob.txt": letters(5_000_000),
            "gap.py": "start = 1\n" + " " * 1_500_000 + "end = 2\n",
        },
    )
    sparse(root / "zeros.dat", 3 * GIB)
    limit = "import resource, runpy, sys; resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)); "
    launch = limit + "sys.argv[0] = 'lessongen'; runpy.run_module('lessongen', run_name='__main__')"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH", "")) if p)
    argv = [
        sys.executable,
        "-c",
        launch,
        "plan",
        str(root),
        "--json",
        "--no-git",
        "--max-file-bytes",
        str(4 * GIB),
    ]
    done = subprocess.run(argv, capture_output=True, env=env, timeout=120, check=False)
    stderr = done.stderr.decode(errors="replace")
    assert done.returncode == 0, stderr
    assert "Traceback" not in stderr
    report = json.loads(done.stdout)
    assert included(report) == ["app.py", "blob.txt", "gap.py"]
    assert reasons(report) == {"zeros.dat": "binary"}


# --- unreadable, special and missing -------------------------------------------------------------------


def test_unreadable_files_cost_only_themselves(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"a.py": "a = 1\n", "locked.py": "b = 1\n", "gone.py": "c = 1\n"})

    def hostile_read(path: Path, rel: str, size: int, cap: int) -> SourceFile | SkippedPath:
        if rel == "locked.py":
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), os.fspath(path))
        if rel == "gone.py":
            path.unlink()  # vanishes between the listing and the read
        return read_source(path, rel, size, cap)

    scan = scan_repository(root, git_probe=no_git, read=hostile_read)
    assert [f.path for f in scan.files] == ["a.py"]
    assert scan.skipped == (
        SkippedPath("gone.py", "unreadable", os.strerror(errno.ENOENT)),
        SkippedPath("locked.py", "unreadable", os.strerror(errno.EACCES)),
    )


def test_sockets_and_fifos_are_not_regular_files(tmp_path: Path) -> None:
    root = write(tmp_path / "repo", {"app.py": "a = 1\n"})
    os.mkfifo(root / "pipe.py")
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(os.fspath(root / "sock.py"))
        code, report = plan(root)
    finally:
        server.close()
    assert code == 0
    assert reasons(report) == {"pipe.py": "not a regular file", "sock.py": "not a regular file"}


def test_empty_repository_has_nothing_to_send(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    code, report = plan(root)
    assert code == 2
    assert report["verdict"] == "nothing-to-send"
    assert report["files"] == [] and report["batches"] == []


def test_repository_where_everything_is_left_out_has_nothing_to_send(tmp_path: Path) -> None:
    root = write(
        tmp_path / "repo",
        {".env": "KEY=1\n", "logo.png": b"\x89PNG\r\n\x1a\n", "blank.py": "\n", "node_modules/x.js": "x\n"},
    )
    code, report = plan(root)
    assert code == 2
    assert report["verdict"] == "nothing-to-send"
    assert included(report) == []
    assert len(reasons(report)) == 4


def test_a_file_instead_of_a_folder_is_one_line(tmp_path: Path) -> None:
    path = write(tmp_path, {"main.py": "x = 1\n"}) / "main.py"
    result = invoke("plan", str(path), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "is a file" in one_error_line(result.stderr)


def test_a_missing_path_is_one_line(tmp_path: Path) -> None:
    result = invoke("plan", str(tmp_path / "nowhere"), "--json")
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "does not exist" in one_error_line(result.stderr)
