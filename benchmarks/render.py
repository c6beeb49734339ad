"""Benchmark: rendering a 30-scene lesson as the web lesson, CodeTour tours and captions.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/render.py [--scenes 30] [--repeat 5]

It copies the `json`, `email`, `http` and `logging` packages of the running interpreter's standard
library into a temporary repository and writes a lesson of it by hand (no model): `--scenes` scenes in
chapters of five, each with about 150 words of narration, visual notes and two anchors of 20 to 40
lines into different files (the larger files of the slice: `http/client.py`, `logging/__init__.py`,
...). Then it measures, in this order:

- reference: a fresh Python process that only imports lessongen's command line (the floor of any
  lessongen command), and once one that also highlights every anchored file whole with Pygments (the
  naive way; lessongen lexes only the lines it shows, see `shared/highlight.py`);
- `lessongen render LESSON` in a fresh process, every format (html, tour, vtt): the whole command's
  wall time, and the command alone after lessongen's imports (cold: the schema check of script.json,
  reading the files and the secret scan, the lexer lookups, the template's compilation, rendering and
  writing every file);
- each renderer alone, in this process, warm (the median of `--repeat` runs).

Target: **html, tours and captions of a 30-scene lesson in under 2 s**, judged from the median of
the cold command times in fresh processes: everything `lessongen render` does after Python has
started and imported lessongen (which every lessongen command pays, and which the import floor above
shows; the whole command's wall time is printed too). Prints the figures and PASS or FAIL; exits 0
either way.
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
from collections.abc import Callable
from pathlib import Path

from lessongen.render.base import Lesson
from lessongen.render.formats import Format
from lessongen.render.registry import RENDERERS, render_lesson
from lessongen.render.source import read_sources, repository_record
from lessongen.repo.secrets import SecretsMode
from lessongen.script.assemble import Script, script_json
from lessongen.script.scenes import Anchor, Chapter, Scene

PACKAGES = ("json", "email", "http", "logging")
TARGET_SECONDS = 2.0
TEXT = (
    "the parser reads each token and hands the value to the caller while the encoder walks the tree "
    "keeping state in small helpers so errors carry the line and column of the input that broke it"
)
WORDS = TEXT.split(" ")


def make_repo(root: Path) -> list[str]:
    """Copy the slice of the standard library; its Python files, largest first."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for name in PACKAGES:
        shutil.copytree(stdlib / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    files = sorted(root.rglob("*.py"), key=lambda p: p.stat().st_size, reverse=True)
    return [p.relative_to(root).as_posix() for p in files]


def make_script(root: Path, files: list[str], count: int) -> Script:
    """A lesson of `count` scenes in chapters of five, two anchors each, about 150 words of narration."""
    scenes: list[Scene] = []
    for number in range(count):
        anchors = []
        for k in range(2):
            path = files[(2 * number + k) % min(len(files), 24)]
            lines = (root / path).read_text().count("\n")
            start = 1 + (number * 37) % max(1, lines - 45)
            anchors.append(Anchor(path, start, min(lines, start + 20 + (number * 7) % 20)))
        narration = " ".join(WORDS[(number + i) % len(WORDS)] for i in range(150)) + "."
        scenes.append(
            Scene(
                id=f"s{number + 1}",
                title=f"Scene {number + 1}: how {anchors[0].path} works",
                narration=narration,
                anchors=tuple(anchors),
                files=tuple(a.path for a in anchors),
                visual_notes="Show both files side by side, the anchored lines highlighted, then zoom in.",
            )
        )
    chapters = [
        Chapter(f"Part {i // 5 + 1}", tuple(scenes[i : i + 5]), "intro" if i == 0 else f"batch {i // 5}")
        for i in range(0, count, 5)
    ]
    return Script("stdlib slice: a guided tour", tuple(chapters))


# `lessongen render LESSON` in a fresh process, timing the command itself after lessongen's imports.
COLD = """
import sys, time
from lessongen.cli import app
sys.argv = ["lessongen", "render", sys.argv[1], "--formats", "html,tour,vtt"]
began = time.perf_counter()
try:
    app()
except SystemExit:
    pass
print(time.perf_counter() - began)
"""


def timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def fresh(code: str) -> float:
    """Wall time of a fresh Python process running `code`."""
    return timed(lambda: subprocess.run([sys.executable, "-c", code], check=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lessongen-render-bench-") as temp:
        root = Path(temp) / "repo"
        lesson_dir = Path(temp) / "lesson"
        lesson_dir.mkdir()
        files = make_repo(root)
        script = make_script(root, files, options.scenes)
        (lesson_dir / "script.json").write_text(json.dumps(script_json(script)))
        (lesson_dir / "run.json").write_text(json.dumps({"repository": repository_record(root, None)}))
        anchored = sorted({a.path for c in script.chapters for s in c.scenes for a in s.anchors})
        size = sum((root / p).stat().st_size for p in anchored)
        print(
            f"lesson: {options.scenes} scenes in {len(script.chapters)} chapters, "
            f"{len(anchored)} anchored files ({size / 1e6:.2f} MB), {options.repeat} runs each, median shown"
        )

        floor = statistics.median(fresh("import lessongen.cli") for _ in range(options.repeat))
        whole = "; ".join(
            [
                "from pathlib import Path",
                "from pygments import highlight",
                "from pygments.formatters import HtmlFormatter",
                "from pygments.lexers import get_lexer_for_filename",
                f"root = Path({str(root)!r})",
                f"[highlight((root / p).read_text(), get_lexer_for_filename(p), HtmlFormatter()) for p in {anchored!r}]",
            ]
        )
        naive = fresh("import lessongen.cli; " + whole)  # once: it is the slow way
        cli, cold = [], []
        for _ in range(options.repeat):
            began = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-c", COLD, str(lesson_dir)], check=True, capture_output=True, text=True
            )
            cli.append(time.perf_counter() - began)
            cold.append(float(done.stdout.split()[-1]))
        written = sorted(p.relative_to(lesson_dir).as_posix() for p in lesson_dir.rglob("*") if p.is_file())
        print(f"reference: python + import lessongen.cli            {floor:6.3f} s")
        print(f"reference: the same + Pygments over whole files      {naive:6.3f} s (once; the naive way)")
        print(
            f"lessongen render, the whole command (fresh process) {statistics.median(cli):6.3f} s "
            f"(min {min(cli):.3f}, max {max(cli):.3f}); {len(written) - 2} files written"
        )
        print(
            f"  of which the command after the imports (cold)     {statistics.median(cold):6.3f} s "
            f"(min {min(cold):.3f}, max {max(cold):.3f})"
        )

        lesson = Lesson(script, read_sources(root, anchored, SecretsMode.REDACT, 1_000_000))
        out = Path(temp) / "warm"
        for fmt in Format:
            runs = [timed(lambda f=fmt: render_lesson(lesson, (f,), out)) for _ in range(options.repeat)]
            files_out = len(RENDERERS[fmt].render(lesson))
            print(
                f"  {fmt.value:5} in process, warm: {statistics.median(runs) * 1000:7.1f} ms ({files_out} files)"
            )
        site = (out / "site" / "index.html").stat().st_size
        print(f"  site/index.html: {site / 1e3:.0f} kB")

        median = statistics.median(cold)
        verdict = "PASS" if median < TARGET_SECONDS else "FAIL"
        print(
            f"target: html, tours and captions rendered in a fresh process under {TARGET_SECONDS:.0f} s "
            f"(after the imports): {median:.3f} s -> {verdict}"
        )


if __name__ == "__main__":
    main()
