"""Benchmark: rendering a narrated MP4 faster than real time.

Run from the repository root with the virtualenv that has the video extra:

    python benchmarks/video.py [--scenes 8]

It writes a lesson by hand (no model) of a copy of the standard library's `json` package: `--scenes`
scenes in chapters of four, each with about 40 words of narration (identifiers and paths included)
and one anchor of 10 to 40 lines. Then `lessongen render LESSON --formats mp4,vtt` runs in a fresh
process twice: cold (every scene synthesised, every frame drawn, the MP4 encoded) and warm (the
per-scene cache hit: only the encode). The reference is the video's own length, measured from the MP4
in the same run with the shipped ffmpeg.

Target: **render seconds / video seconds < 1 for the cold render** on this machine (2 cores), i.e. the
video renders faster than real time. Prints the figures and PASS or FAIL; exits 0 either way.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from lessongen.render.video.encode import describe
from lessongen.script.assemble import Script, script_json
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.storage import write_json

SENTENCE = (
    "Here the decoder in json/decoder.py calls scanstring() on the raw text, and py_scanstring "
    "handles escapes when the C speedups are missing. "
)


def lesson(root: Path, count: int) -> tuple[Path, Path]:
    """A repository (the json package) and a hand-written lesson of `count` scenes."""
    repo = root / "repo"
    shutil.copytree(Path(sysconfig.get_paths()["stdlib"]) / "json", repo / "json")
    files = sorted(p.relative_to(repo).as_posix() for p in repo.rglob("*.py"))
    scenes = [
        Scene(
            f"s{n}",
            f"Scene {n}",
            f"Scene {n}. " + SENTENCE * 2,
            (Anchor(files[n % len(files)], 1 + n, 11 + n + (n % 4) * 10),),
        )
        for n in range(count)
    ]
    chapters = tuple(
        Chapter(f"Part {i // 4 + 1}", tuple(scenes[i : i + 4]), "intro" if i == 0 else f"batch {i // 4}")
        for i in range(0, count, 4)
    )
    folder = root / "lesson"
    folder.mkdir()
    write_json(folder / "script.json", script_json(Script("The json package", chapters)))
    return repo, folder


def render(repo: Path, folder: Path) -> float:
    """Wall seconds of `lessongen render --formats mp4,vtt` in a fresh process."""
    command = [
        sys.executable,
        "-m",
        "lessongen",
        "render",
        str(folder),
        "--repo",
        str(repo),
        "--formats",
        "mp4,vtt",
    ]
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenes", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        repo, folder = lesson(Path(temp), args.scenes)
        cold = render(repo, folder)
        warm = render(repo, folder)
        found = re.search(r"Duration: (\d+):(\d+):([\d.]+)", describe(folder / "video" / "lesson.mp4"))
        if not found:
            sys.exit("no duration in the MP4")
        hours, minutes, seconds = found.groups()
        length = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    print(f"scenes: {args.scenes}; video length: {length:.1f} s")
    print(f"cold render (synthesise, draw, encode): {cold:.2f} s = {cold / length:.2f} x real time")
    print(f"warm render (cache hit, encode only):   {warm:.2f} s = {warm / length:.2f} x real time")
    verdict = "PASS" if cold / length < 1 else "FAIL"
    print(f"target: cold render seconds / video seconds < 1: {cold / length:.2f} -> {verdict}")


if __name__ == "__main__":
    main()
