"""Benchmark: the cost of hostile inputs grows linearly with their size.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/hostile_inputs.py [--repeat N]

The tests in tests/test_hostile.py check what lessongen does with such inputs, on small ones; this
measures how long it takes on full-size ones, against the same input at a fraction of the size in
the same run (so a slower or busier machine moves both sides alike):

- tiny files: `lessongen plan` of 5,000 and of 50,000 one-line modules;
- long line: `lessongen plan` of a 1 MB and a 5 MB line of letters under a raised file cap;
- huge runs: counting runs of 400,000 and 2,000,000 letters, spaces, newlines, "\\n/" pairs and
  special-token texts (tiktoken alone is superlinear on a long run);
- secret lines: the secret scan of one line of 400,000 and 2,000,000 characters made of a name and
  an operator repeated (`key=key=...`, `?access_token=...`, `token=` lines), each position an anchor
  of our rules with a long value after it, and of letters.

A plan runs in a fresh `python -m lessongen plan --json` process with an empty token cache; its cost
is the CPU time of that process and its workers (less sensitive to other load than wall time, which
is shown too) minus the same command on a one-file repository (start-up, imports, the encoding). The
secret scanner's rules are compiled once (several seconds, once per machine) and each fresh cache
folder starts with a copy, as in plan_stdlib.py, so that one-time cost is not in the fixed cost.
Counting and the secret scan run in this process. Each measurement is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from lessongen.repo.secret_scanner import RULES_FOLDER

SLACK = 1.5  # allowed growth beyond linear, for noise and caches
TARGET = f"cost grows at most linearly with the input's size (x{SLACK} slack)"


def letters(size: int, seed: int = 1) -> bytes:
    """`size` random lowercase letters: one pre-token for tiktoken, its slowest input."""
    table = bytes(ord("a") + b % 26 for b in range(256))
    return random.Random(seed).randbytes(size).translate(table)


def tiny_files(root: Path, count: int) -> None:
    for i in range(count):
        folder = root / f"pkg{i // 500:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"m{i % 500:03d}.py").write_bytes(b"x = %d\n" % i)


def long_line(root: Path, size: int) -> None:
    root.mkdir(parents=True)
    (root / "app.py").write_text("x = 1\n")
    (root / "blob.txt").write_bytes(letters(size))


def plan_cost(root: Path, max_file_bytes: int, rules: Path) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one cold `lessongen plan` of `root` in a fresh process."""
    with tempfile.TemporaryDirectory() as cache:
        shutil.copytree(rules, Path(cache) / RULES_FOLDER)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LESSONGEN_", "OPENAI_"))}
        env |= {"LESSONGEN_CACHE_DIR": cache, "LESSONGEN_LOCAL": "false", "NO_COLOR": "1"}
        argv = [sys.executable, "-m", "lessongen", "plan", str(root), "--json", "--no-git"]
        argv += ["--max-file-bytes", str(max_file_bytes)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env, check=False)
        wall = time.perf_counter() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"lessongen plan {root} failed (exit {done.returncode}):\n{done.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def median_of(repeat: int, measure: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    runs = [measure() for _ in range(repeat)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def verdict(name: str, small: float, large: float, scale: float) -> bool:
    """Print one comparison and whether it meets the target."""
    growth = large / small if small > 0 else float("inf")
    ok = growth <= scale * SLACK
    print(
        f"  {name:<28} {small:8.2f} s -> {large:8.2f} s   x{growth:5.1f} for x{scale:g}   {'ok' if ok else 'TOO SLOW'}"
    )
    return ok


def plans(repeat: int, work: Path, rules: Path) -> list[bool]:
    fixed_root = work / "fixed"
    fixed_root.mkdir()
    (fixed_root / "app.py").write_text("x = 1\n")
    cap = 6_000_000
    fixed_cpu, fixed_wall = median_of(repeat, lambda: plan_cost(fixed_root, cap, rules))
    print(f"fixed cost of a plan (one-file repository): {fixed_cpu:.2f} s CPU, {fixed_wall:.2f} s wall")
    cases = [
        ("tiny files", tiny_files, 5_000, 50_000),
        ("long line", long_line, 1_000_000, 5_000_000),
    ]
    results = []
    for name, build, small, large in cases:
        measured = {}
        for size in (small, large):
            root = work / f"{name.replace(' ', '_')}_{size}"
            build(root, size)
            measured[size] = median_of(repeat, lambda root=root: plan_cost(root, cap, rules))
        (small_cpu, small_wall), (large_cpu, large_wall) = measured[small], measured[large]
        print(f"{name}: {small:,} -> {large:,}")
        results.append(
            verdict("CPU, less the fixed cost", small_cpu - fixed_cpu, large_cpu - fixed_cpu, large / small)
        )
        print(f"  {'wall (shown, not judged)':<28} {small_wall:8.2f} s -> {large_wall:8.2f} s")
    return results


def runs(repeat: int) -> list[bool]:
    from lessongen.tokens.counter import TokenCounter

    counter = TokenCounter.for_model("gpt-4o-mini")
    kinds: dict[str, Callable[[int], str]] = {
        "letters": lambda n: letters(n).decode(),
        "spaces": lambda n: "x" + " " * n + "x",
        "newlines": lambda n: "x" + "\n" * n + "x",
        "slashes": lambda n: "!" + "\n/" * (n // 2),
        "specials": lambda n: "<|endoftext|>" * (n // 10),
    }
    small, large = 400_000, 2_000_000
    print(f"huge runs, counted in this process: {small:,} -> {large:,} characters")
    results = []
    for name, make in kinds.items():
        seconds = {}
        for size in (small, large):
            text = make(size)

            def once(text: str = text) -> tuple[float, float]:
                cpu, began = time.process_time(), time.perf_counter()
                counter.count(text)
                return time.process_time() - cpu, time.perf_counter() - began

            seconds[size] = median_of(repeat, once)[0]
        results.append(verdict(f"{name}, CPU", seconds[small], seconds[large], large / small))
    return results


def secret_lines(repeat: int, rules: Path) -> list[bool]:
    from lessongen.repo.secret_scanner import ProviderScanner
    from lessongen.repo.secrets import SecretScanner

    scanner = SecretScanner(ProviderScanner(rules))
    scanner.provider.load()
    kinds: dict[str, str] = {
        "letters": "abcdefghijklmnopqrstuvwxyz",
        "key=key=...": "key=",
        "?access_token=...": "?access_token=",
        "token= lines": "token=" * 40 + "\n",
    }
    small, large = 400_000, 2_000_000
    print(f"secret lines, scanned in this process: {small:,} -> {large:,} characters")
    results = []
    for name, unit in kinds.items():
        seconds = {}
        for size in (small, large):
            text = unit * (size // len(unit))

            def once(text: str = text) -> tuple[float, float]:
                cpu, began = time.process_time(), time.perf_counter()
                scanner.spans(text, "config.env")
                return time.process_time() - cpu, time.perf_counter() - began

            seconds[size] = median_of(repeat, once)[0]
        results.append(verdict(f"{name}, CPU", seconds[small], seconds[large], large / small))
    return results


def compile_rules(folder: Path) -> None:
    """The secret scanner's rules compiled into `folder` once, in a fresh process."""
    code = "import sys; from pathlib import Path; from lessongen.repo.secret_scanner import ProviderScanner; "
    code += "ProviderScanner(Path(sys.argv[1])).load()"
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (median shown)")
    args = parser.parse_args()
    print(f"target: {TARGET}")
    with tempfile.TemporaryDirectory() as work:
        rules = Path(work) / RULES_FOLDER
        compile_rules(rules)
        results = plans(args.repeat, Path(work), rules) + runs(args.repeat) + secret_lines(args.repeat, rules)
    print(f"{'PASS' if all(results) else 'FAIL'}: {TARGET}")


if __name__ == "__main__":
    main()
