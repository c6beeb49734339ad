"""Benchmark: the cost of hostile inputs grows linearly with their size.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/hostile_inputs.py [--repeat N]

The tests in tests/test_hostile.py check what lessongen does with such inputs, on small ones; this
measures how long it takes on full-size ones, against the same input at a fraction of the size in
the same run (so a slower or busier machine moves both sides alike):

- tiny files: `lessongen plan` of 10,000 and of 50,000 one-line modules;
- long line: `lessongen plan` of a 2 MB and a 10 MB line of letters under a raised file cap;
- huge runs: counting runs of 400,000 and 2,000,000 letters, spaces, newlines, "\\n/" pairs and
  special-token texts (tiktoken alone is superlinear on a long run);
- secret lines: the secret scan of one line of 400,000 and 2,000,000 characters made of a name and
  an operator repeated (`key=key=...`, `?access_token=...`, `token=` lines), each position an anchor
  of our rules with a long value after it, and of letters;
- secret paths: the scan of 4,000 and 20,000 paths whose file names are GitHub tokens (each path's
  findings are picked out of one joined scan).

A plan runs in a fresh `python -m lessongen plan --json` process with an empty token cache; its cost
is the CPU time of that process and its workers (less sensitive to other load than wall time, which
is shown too) minus the same command on a one-file repository (start-up, imports, the encoding, about
2.5 s). The process is waited for without being reaped first, so /proc still tells its own CPU from
its workers'; this process is the subreaper of the plan's processes, so a worker the plan did not wait
for is reaped here and its CPU counted (and reported). Every plan is measured once per round, all sizes
in turn, so a change in the machine's load hits every size alike, and each size's figure is the least
CPU of its rounds: other load only ever adds CPU time (shared caches and cores), never removes it. The
small sizes are large enough that their own cost is about the fixed cost: a small case a fraction of
it measured the fixed cost's noise instead (5,000 tiny files came out anywhere from x7 to x18 for x10).
For the tiny files it prints the cost per file (main process and workers) at both sizes. The secret
scanner's rules are compiled once (several seconds, once per machine) and each fresh cache folder
starts with a copy, as in plan_stdlib.py, so that one-time cost is not in the fixed cost. Counting and
the secret scan run in this process; each of those is the median of --repeat runs.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from lessongen.repo.secret_scanner import RULES_FOLDER

if TYPE_CHECKING:
    from lessongen.repo.secrets import SecretScanner

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


@dataclass(frozen=True)
class Cost:
    """What one plan cost: CPU seconds of its own process and of its workers, wall seconds."""

    main: float
    workers: float  # the processes it waited for, and any it left behind (reaped here)
    wall: float
    left_behind: int = 0  # processes the plan did not wait for (reaped here)

    @property
    def cpu(self) -> float:
        return self.main + self.workers


def _become_subreaper() -> None:
    """Workers a plan leaves behind are handed to this process (not to init), so their CPU is counted."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1)


_PR_SET_CHILD_SUBREAPER = 36


def _own_and_children(pid: int) -> tuple[float, float] | None:
    """(own, waited-for children's) CPU seconds of an exited, not yet reaped process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    utime, stime, cutime, cstime = (int(f) / tick for f in fields[11:15])
    return utime + stime, cutime + cstime


def _reap_left_behind(deadline: float) -> int:
    """Wait for the processes a plan left behind (this process's children now, so their CPU joins
    RUSAGE_CHILDREN); how many. One still running at the deadline is killed: a plan must not leave work behind."""
    count = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return count
        if pid:
            count += 1
        elif time.monotonic() > deadline:
            for child in _children():
                with contextlib.suppress(OSError):
                    os.kill(child, signal.SIGKILL)
        else:
            time.sleep(0.05)


def _children() -> list[int]:
    """The pids of this process's children (Linux)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        with contextlib.suppress(OSError):
            found += [int(pid) for pid in (task / "children").read_text().split()]
    return found


def plan_cost(root: Path, max_file_bytes: int, rules: Path) -> Cost:
    """What one cold `lessongen plan` of `root` costs, in a fresh process with a fresh cache folder."""
    with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryFile() as err:
        shutil.copytree(rules, Path(cache) / RULES_FOLDER)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LESSONGEN_", "OPENAI_"))}
        env |= {"LESSONGEN_CACHE_DIR": cache, "LESSONGEN_LOCAL": "false", "NO_COLOR": "1"}
        argv = [sys.executable, "-m", "lessongen", "plan", str(root), "--json", "--no-git"]
        argv += ["--max-file-bytes", str(max_file_bytes)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, env=env)
        # Wait without reaping, so /proc still holds its own CPU apart from its workers'.
        os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOWAIT)
        wall = time.perf_counter() - began
        split = _own_and_children(process.pid)
        code = process.wait()
        left = _reap_left_behind(time.monotonic() + 30)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        err.seek(0)
        message = err.read().decode(errors="replace")
    if code != 0:
        raise SystemExit(f"lessongen plan {root} failed (exit {code}):\n{message}")
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    main = split[0] if split else total  # without /proc, all of it is shown as the plan's own
    return Cost(main, max(total - main, 0.0), wall, left)


def least_of(costs: Sequence[Cost]) -> Cost:
    """The run that cost the least CPU: other load only ever adds CPU time (shared caches and cores)."""
    best = min(costs, key=lambda c: c.cpu)
    return replace(best, left_behind=max(c.left_behind for c in costs))


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


def _spread(costs: Sequence[Cost]) -> str:
    cpus = sorted(c.cpu for c in costs)
    return f"{cpus[0]:.2f}-{cpus[-1]:.2f} s" if len(cpus) > 1 else f"{cpus[0]:.2f} s"


def _per_file(name: str, count: int, cost: Cost, fixed: Cost) -> None:
    main = max(cost.main - fixed.main, 0.0) / count * 1e6
    workers = max(cost.workers - fixed.workers, 0.0) / count * 1e6
    print(f"  {name:<28} {main:6.0f} us main + {workers:4.0f} us workers = {main + workers:6.0f} us per file")


def plans(repeat: int, work: Path, rules: Path) -> list[bool]:
    cap = 12_000_000
    fixed_root = work / "fixed"
    fixed_root.mkdir()
    (fixed_root / "app.py").write_text("x = 1\n")
    cases = [
        ("tiny files", tiny_files, 10_000, 50_000),
        ("long line", long_line, 2_000_000, 10_000_000),
    ]
    roots = {"fixed": fixed_root}
    for name, build, small, large in cases:
        for size in (small, large):
            roots[f"{name} {size}"] = root = work / f"{name.replace(' ', '_')}_{size}"
            build(root, size)
    # Every size in turn in each round: a change in the machine's load then hits every size alike.
    measured: dict[str, list[Cost]] = {key: [] for key in roots}
    for _ in range(repeat):
        for key, root in roots.items():
            measured[key].append(plan_cost(root, cap, rules))
    best = {key: least_of(costs) for key, costs in measured.items()}
    fixed = best["fixed"]
    print(
        f"fixed cost of a plan (one-file repository): {fixed.cpu:.2f} s CPU ({fixed.main:.2f} s main, "
        f"{fixed.workers:.2f} s workers; runs {_spread(measured['fixed'])}), {fixed.wall:.2f} s wall"
    )
    results = []
    for name, _, small, large in cases:
        low, high = best[f"{name} {small}"], best[f"{name} {large}"]
        print(
            f"{name}: {small:,} -> {large:,} (runs {_spread(measured[f'{name} {small}'])} -> {_spread(measured[f'{name} {large}'])})"
        )
        results.append(
            verdict("CPU, less the fixed cost", low.cpu - fixed.cpu, high.cpu - fixed.cpu, large / small)
        )
        print(f"  {'wall (shown, not judged)':<28} {low.wall:8.2f} s -> {high.wall:8.2f} s")
        if name == "tiny files":
            _per_file(f"per file at {small:,}", small, low, fixed)
            _per_file(f"per file at {large:,}", large, high, fixed)
        left = max(c.left_behind for c in (low, high, fixed))
        if left:  # their CPU is in the figures above only because this process reaped them
            print(f"  note: {left} process(es) the plan did not wait for, reaped here")
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
    return results + secret_paths(repeat, scanner)


def secret_paths(repeat: int, scanner: SecretScanner) -> list[bool]:
    """Paths whose file names are tokens: every path holds a finding of the joined scan."""
    small, large = 4_000, 20_000
    print(f"secret paths, scanned in this process: {small:,} -> {large:,} paths, each with a token")
    seconds = {}
    for size in (small, large):
        table = bytes(ord("a") + b % 26 for b in range(256))
        names = random.Random(size).randbytes(36 * size).translate(table).decode()
        paths = [f"pkg{i // 500:03d}/ghp_{names[36 * i : 36 * i + 36]}.json" for i in range(size)]

        def once(paths: list[str] = paths) -> tuple[float, float]:
            cpu, began = time.process_time(), time.perf_counter()
            scanner.path_spans(paths)
            return time.process_time() - cpu, time.perf_counter() - began

        seconds[size] = median_of(repeat, once)[0]
    return [verdict("token-named paths, CPU", seconds[small], seconds[large], large / small)]


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
    _become_subreaper()
    with tempfile.TemporaryDirectory() as work:
        rules = Path(work) / RULES_FOLDER
        compile_rules(rules)
        results = plans(args.repeat, Path(work), rules) + runs(args.repeat) + secret_lines(args.repeat, rules)
    print(f"{'PASS' if all(results) else 'FAIL'}: {TARGET}")


if __name__ == "__main__":
    main()
