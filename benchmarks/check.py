"""Benchmark: `lessongen check` of a 100-anchor lesson on an unchanged repository.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/check.py [--anchors 100] [--repeat 5]

It copies the `json`, `email`, `http` and `logging` packages of the running interpreter's standard
library into a temporary repository and writes a lesson of it by hand (no model): `--anchors` anchors
of 20 to 40 lines, two per scene, spread over the slice's 30 largest files, pinned as a run pins them.
Then it measures, each in a fresh process, the median of `--repeat` runs:

- reference: Python importing lessongen's command line, then reading every anchored file and
  splitting it into lines (simply reading the files: the floor of any check);
- `lessongen check LESSON`: the whole command's wall time, the command after lessongen's imports
  (which includes typer's parsing of the arguments, where typer imports pydantic: every lessongen
  command pays that), and the check itself after the imports: the settings resolved, script.json read
  and checked against the schema, the anchored files read and decoded as the run reads them, every
  pin compared;

and, in this process, the check alone warm.

Target: **100 anchors checked in under 1 s**, judged from the median of the check itself, cold, in
fresh processes (what `check` adds to the floor every lessongen command pays; the whole wall time and
the command with typer's parsing are printed too). Prints the figures and PASS or FAIL; exits 0 either way.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from lessongen.config.settings import resolve_settings
from lessongen.pipeline.checking import check_lesson
from lessongen.render.source import read_repository_file, repository_record
from lessongen.script.assemble import Script, script_json
from lessongen.script.pins import pin_chapters
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.data import file_lines

PACKAGES = ("json", "email", "http", "logging")
TARGET_SECONDS = 1.0
MAX_BYTES = 1_000_000

# `lessongen check LESSON` in a fresh process, timing the command itself after lessongen's imports.
COLD = """
import sys, time
from lessongen.cli import app
sys.argv = ["lessongen", "check", sys.argv[1]]
began = time.perf_counter()
try:
    app()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
print(time.perf_counter() - began)
"""

# The check itself in a fresh process after the imports: the settings, then every anchor checked.
BODY = """
import os, sys, time
from pathlib import Path
import lessongen.cli
from lessongen.config.settings import resolve_settings
from lessongen.pipeline.checking import check_lesson
began = time.perf_counter()
settings = resolve_settings(Path(sys.argv[2]), {}, os.environ, None)
assert not check_lesson(Path(sys.argv[1]), settings, None, fix=False).report.stale
print(time.perf_counter() - began)
"""

REFERENCE = """
import sys, time
import lessongen.cli
from pathlib import Path
root, paths = Path(sys.argv[1]), sys.argv[2:]
began = time.perf_counter()
for path in paths:
    (root / path).read_text("utf-8").split("\\n")
print(time.perf_counter() - began)
"""


def make_repo(root: Path) -> list[str]:
    """Copy the slice of the standard library; its 30 largest Python files."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in PACKAGES:
        shutil.copytree(stdlib / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(root.rglob("*.py"), key=lambda p: p.stat().st_size, reverse=True)[:30]
    return [p.relative_to(root).as_posix() for p in files]


def make_script(texts: dict[str, str], count: int) -> Script:
    """`count` anchors of 20 to 40 lines, two per scene, in chapters of five scenes, pinned."""
    paths = sorted(texts)
    anchors: list[Anchor] = []
    for number in range(count):
        path = paths[number % len(paths)]
        lines = len(file_lines(texts[path]))
        start = 1 + (number * 37) % max(1, lines - 45)
        anchors.append(Anchor(path, start, min(lines, start + 20 + (number * 7) % 20)))
    scenes = [
        Scene(f"s{i // 2 + 1}", f"Scene {i // 2 + 1}", "Words said.", tuple(anchors[i : i + 2]))
        for i in range(0, count, 2)
    ]
    chapters = tuple(
        Chapter(f"Part {i // 5 + 1}", tuple(scenes[i : i + 5]), "intro" if i == 0 else f"batch {i // 5}")
        for i in range(0, len(scenes), 5)
    )
    return Script("stdlib slice: a guided tour", pin_chapters(chapters, texts))


def fresh(code: str, *args: str) -> tuple[float, float]:
    """A fresh Python process running `code`: its wall time, and the time it printed."""
    began = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return time.perf_counter() - began, float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--anchors", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lessongen-check-bench-") as temp:
        root = Path(temp) / "repo"
        lesson = Path(temp) / "lesson"
        lesson.mkdir()
        paths = make_repo(root)
        texts = {}
        for path in paths:
            found = read_repository_file(root, path, MAX_BYTES)
            if found is not None:
                texts[path] = found.text
        script = make_script(texts, options.anchors)
        (lesson / "script.json").write_text(json.dumps(script_json(script)))
        (lesson / "run.json").write_text(json.dumps({"repository": repository_record(root, None)}))
        anchored = sorted({a.path for c in script.chapters for s in c.scenes for a in s.anchors})
        size = sum((root / p).stat().st_size for p in anchored)
        print(
            f"lesson: {options.anchors} anchors in {len(anchored)} files ({size / 1e6:.2f} MB), "
            f"{options.repeat} runs each, median shown"
        )

        reference = [fresh(REFERENCE, str(root), *anchored) for _ in range(options.repeat)]
        command = [fresh(COLD, str(lesson)) for _ in range(options.repeat)]
        body = [fresh(BODY, str(lesson), str(root))[1] for _ in range(options.repeat)]
        settings = resolve_settings(root, {}, {}, None)
        warm = []
        for _ in range(options.repeat):
            began = time.perf_counter()
            outcome = check_lesson(lesson, settings, None, fix=False)
            warm.append(time.perf_counter() - began)
        assert not outcome.report.stale, "the unchanged repository must check clean"

        ref_wall, ref_read = (statistics.median(r[i] for r in reference) for i in (0, 1))
        wall, cold = (statistics.median(c[i] for c in command) for i in (0, 1))
        print(f"reference: python + import lessongen.cli + reading the files  {ref_wall:6.3f} s")
        print(f"  of which reading and splitting the {len(anchored)} files          {ref_read:6.3f} s")
        print(f"lessongen check, the whole command (fresh process)          {wall:6.3f} s")
        print(
            f"  of which the command after the imports (cold)             {cold:6.3f} s (with typer's parsing)"
        )
        check = statistics.median(body)
        print(
            f"  of which the check itself (cold)                          {check:6.3f} s "
            f"({check / ref_read:.1f}x reading the files; min {min(body):.3f}, max {max(body):.3f})"
        )
        print(f"check_lesson in this process, warm                          {statistics.median(warm):6.3f} s")
        verdict = "PASS" if check < TARGET_SECONDS else "FAIL"
        print(
            f"target: {options.anchors} anchors checked on an unchanged repository under "
            f"{TARGET_SECONDS:.0f} s (the check itself, cold, in a fresh process): {check:.3f} s -> {verdict}"
        )


if __name__ == "__main__":
    main()
