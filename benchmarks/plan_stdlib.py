"""Benchmark: plan the running interpreter's standard library, against a plain walk-and-count reference.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/plan_stdlib.py [--repeat N]

Each measured phase runs in a fresh subprocess, so one phase's imports, caches and heap never help or
burden another:

- reference: os.walk + a pathspec GitIgnoreSpec of the same exclusions, reading each file and counting
  it with tiktoken's encode_ordinary, file by file, in one thread;
- plan, cold cache: lessongen's prepare + build_plan (walk, count, batching, simulation) with a fresh
  token cache folder;
- plan, warm cache: the same plan again over the unchanged tree, reusing that cache folder.

The secret scanner's rules are compiled once per machine and scanner version into the cache folder
(kingfisher-secret-scanner, several seconds), and the model's prices are looked up in genai-prices'
bundled data once per day (importing it costs about a third of a second); both are kept in the
user's one cache folder, shared by every repository. That one-time cost is measured apart, like the
encoding, and each fresh cache folder gets a copy of what it left there (the compiled rules, today's
prices), so "cold" means a cold token cache and no file yet known to be free of secrets, not a first
run on a new machine or a new day.

Both sides use the same encoding object, lessongen.tokens.counter.load_encoding("o200k_base"); building it is
the same fixed cost for both and is timed apart, outside the measured phases. Peak memory is the
growth of the process's peak resident set (getrusage maxrss) over the phase, so memory tiktoken's Rust
core, SQLite and thread stacks allocate counts too (tracemalloc sees only Python's allocator and would
slow the timed code). Each phase runs --repeat times, interleaved, and the median is shown.

CPU time (user + system) is shown beside the wall time: of the phase's process and of the worker
processes it waited for. It moves less than wall time when other work shares the machine, so it tells a
busy machine's FAIL from a slower plan: with two cores, the cold plan can match the reference only if
its CPU time is at most about twice the reference's and its work overlaps. The load average at the
start and the end of the run is printed with it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EXCLUDE = ("site-packages/", "dist-packages/")
ENCODING = "o200k_base"
MODEL = "gpt-4o-mini"
MAX_FILE_BYTES = 1_000_000  # lessongen's default max_file_bytes, applied by the reference too
SNIFF = 8192  # bytes looked at for NUL, as lessongen does
TARGET = "full plan (walk + count + batching + simulation) no slower than the plain reference"
WARM_RATIO = 0.3  # the warm plan's wall time, at most this share of the reference's
WARM_TARGET = f"warm plan (unchanged tree, same cache folder) at most {WARM_RATIO}x the plain reference"
WARM_MEMORY = 1.15  # the warm plan's peak RSS, at most this multiple of the reference's
MEMORY_TARGET = f"warm plan's peak RSS at most {WARM_MEMORY}x the reference's"


@dataclass
class Measured:
    """What one phase did and what it cost, as a child process reports it."""

    phase: str
    seconds: float
    files: int
    text_bytes: int
    tokens: int
    setup_seconds: float = 0.0  # building the encoding, outside `seconds`
    rss_start_kb: int = 0  # peak RSS before the phase (after imports and the encoding)
    rss_peak_kb: int = 0  # peak RSS after it
    cpu_seconds: float = 0.0  # user + system time of the process during the phase
    workers_cpu_seconds: float = 0.0  # the same of the worker processes it waited for
    detail: dict[str, float | int | str] = field(default_factory=dict)

    @property
    def mb_per_s(self) -> float:
        return self.text_bytes / 1e6 / self.seconds

    @property
    def total_cpu(self) -> float:
        return self.cpu_seconds + self.workers_cpu_seconds

    @property
    def growth_mb(self) -> float:
        return (self.rss_peak_kb - self.rss_start_kb) / 1024


def stdlib_root() -> Path:
    """The standard library folder of the running interpreter."""
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def _children_max_rss_kb() -> int:
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _max_rss_kb() -> int:
    # ru_maxrss is in KiB on Linux and in bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss


# --- the phases, each run inside its own child process ---------------------------------------------


def reference_phase(root: Path, encoding: Any) -> Measured:
    """os.walk + pathspec + read + encode_ordinary, one file at a time, in one thread."""
    import pathspec

    # __pycache__ holds bytecode, which nobody tokenizes: skip it as lessongen does, without reading it.
    spec = pathspec.GitIgnoreSpec.from_lines([*EXCLUDE, "__pycache__/"])
    encode = encoding.encode_ordinary
    files = text_bytes = tokens = 0
    started = time.perf_counter()
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        dirs[:] = sorted(d for d in dirs if not spec.match_file(f"{prefix}{d}/"))
        for name in sorted(names):
            if spec.match_file(prefix + name):
                continue
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
            except OSError:
                continue
            if len(data) > MAX_FILE_BYTES or b"\0" in data[:SNIFF]:
                continue
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
            files += 1
            text_bytes += len(data)
            tokens += len(encode(text))
    return Measured("reference", time.perf_counter() - started, files, text_bytes, tokens)


def plan_phase(root: Path, cache_dir: Path, phase: str) -> Measured:
    """lessongen's own dry run: prepare (walk, count, batch) and build_plan (simulate)."""
    from lessongen.config.settings import resolve_settings
    from lessongen.pipeline import build_plan, prepare
    from lessongen.repo.reading import Reading
    from lessongen.repo.secret_worker import BackgroundScanner

    settings = resolve_settings(
        root, {"exclude": EXCLUDE, "use_git": False, "cache_dir": cache_dir, "model": MODEL}, env={}
    )
    # The secret scanner's worker is the first child reaped (when the walk is done, before the counting
    # workers): the children's CPU time right then is its own, the rest is the counting workers'.
    scanner_cpu: list[float] = []
    stop = BackgroundScanner._stop

    def timed_stop(scanner: BackgroundScanner) -> None:
        stop(scanner)
        if not scanner_cpu:
            scanner_cpu.append(_cpu(resource.RUSAGE_CHILDREN))

    BackgroundScanner._stop = timed_stop  # type: ignore[method-assign,assignment]
    started, cpu_started = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    prepared = prepare(settings, reading=Reading.CHANGED_FILES)  # as `lessongen plan` does
    prepared_at, cpu_prepared = time.perf_counter(), _cpu(resource.RUSAGE_SELF)
    rss_prepared = _max_rss_kb()
    plan = build_plan(prepared)
    finished = time.perf_counter()
    BackgroundScanner._stop = stop  # type: ignore[method-assign]
    if prepared.counter.encoding_name != ENCODING:
        raise SystemExit(f"expected {MODEL} to count with {ENCODING}, got {prepared.counter.encoding_name}")
    totals = plan.totals
    return Measured(
        phase,
        finished - started,
        files=totals.files_included,
        text_bytes=sum(f.size for f in prepared.scan.files),
        tokens=totals.source_tokens,
        detail={
            "prepare_s": prepared_at - started,
            "build_plan_s": finished - prepared_at,
            "prepare_cpu_s": cpu_prepared - cpu_started,
            "build_plan_cpu_s": _cpu(resource.RUSAGE_SELF) - cpu_prepared,
            "scanner_worker_cpu_s": scanner_cpu[0] if scanner_cpu else 0.0,  # no other child before it
            "rss_prepared_kb": rss_prepared,
            # lessongen counts in worker processes when it can fork: their memory is not in RUSAGE_SELF.
            "workers_rss_kb": _children_max_rss_kb(),
            "skipped": totals.files_skipped,
            "batches": len(plan.batches),
            "calls": len(plan.calls),
            "summary_calls": len(plan.summary_points()),
            "verdict": str(plan.verdict),
            "cost_usd": totals.cost_usd,
            "notes": "; ".join(prepared.notes),
        },
    )


def run_child(phase: str, root: Path, cache_dir: Path | None) -> None:
    """Entry point of a child: build the encoding, run one phase, print it as one JSON line."""
    from lessongen.tokens.counter import load_encoding

    begun = time.perf_counter()
    encoding = load_encoding(ENCODING)  # cached: prepare() gets this very object back
    setup = time.perf_counter() - begun
    # Import what the phase needs before the memory baseline, so module code is not counted as its heap.
    if phase == "reference":
        import pathspec  # noqa: F401
    else:
        import lessongen.pipeline  # noqa: F401
    rss_start = _max_rss_kb()
    cpu_start = (_cpu(resource.RUSAGE_SELF), _cpu(resource.RUSAGE_CHILDREN))
    if phase == "reference":
        measured = reference_phase(root, encoding)
    else:
        assert cache_dir is not None
        measured = plan_phase(root, cache_dir, phase)
    measured.setup_seconds = setup
    measured.rss_start_kb = rss_start
    measured.rss_peak_kb = _max_rss_kb()
    measured.cpu_seconds = _cpu(resource.RUSAGE_SELF) - cpu_start[0]
    measured.workers_cpu_seconds = _cpu(resource.RUSAGE_CHILDREN) - cpu_start[1]
    print(json.dumps(asdict(measured)))


# --- the parent: run the children, then report ----------------------------------------------------


def spawn(phase: str, root: Path, cache_dir: Path | None = None) -> Measured:
    """Run one phase in a fresh interpreter and read back what it measured."""
    command = [sys.executable, os.path.abspath(__file__), "--phase", phase, "--root", str(root)]
    if cache_dir is not None:
        command += ["--cache-dir", str(cache_dir)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{phase} phase failed (exit {done.returncode}):\n{done.stderr}")
    return Measured(**json.loads(done.stdout.strip().splitlines()[-1]))


def prime_page_cache(root: Path) -> None:
    """Read the tree once so the first measured phase does not pay for disk reads the others skip."""
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in ("site-packages", "dist-packages", "__pycache__")]
        for name in names:
            try:
                with open(os.path.join(folder, name), "rb") as handle:
                    handle.read(MAX_FILE_BYTES + 1)
            except OSError:
                pass


def machine_cache(cache_dir: Path) -> float:
    """What a cache folder holds once per machine and day, made in a fresh process: the scanner's
    compiled rules and today's prices of the model (see the module's docstring); the seconds it took."""
    code = (
        "import sys, time; from pathlib import Path; t = time.perf_counter(); "
        "from lessongen.config.settings import resolve_settings; "
        "from lessongen.models.backend import choose_backend; "
        "from lessongen.repo.secret_scanner import ProviderScanner; cache = Path(sys.argv[1]); "
        "ProviderScanner.in_cache(cache).load(); "
        "choose_backend(resolve_settings(cache, {'cache_dir': cache, 'model': sys.argv[2]}, env={})); "
        "print(time.perf_counter() - t)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(cache_dir), MODEL], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def median_run(runs: list[Measured]) -> Measured:
    """The run with the median wall time (an actual run, so its other figures belong together)."""
    ordered = sorted(runs, key=lambda m: m.seconds)
    return ordered[(len(ordered) - 1) // 2]


def report(root: Path, runs: dict[str, list[Measured]], rules_s: float, load: tuple[float, float]) -> None:
    """Print the table, the plan's totals and the target, judged from the measured ratio."""
    ref, cold, warm = (median_run(runs[p]) for p in ("reference", "plan-cold", "plan-warm"))
    repeat = len(runs["reference"])
    print(f"standard library: {root}")
    print(
        f"Python {sys.version.split()[0]}, model {MODEL}, encoding {ENCODING} "
        f"(built in {statistics.median(m.setup_seconds for r in runs.values() for m in r):.2f} s "
        f"per process, outside the timings); median of {repeat} run(s) per phase, each in a fresh process"
    )
    print(
        f"secret scanner rules compiled and today's prices looked up in {rules_s:.2f} s (once per machine "
        "and scanner version, and once a day; outside the timings, each fresh cache folder starts with a copy)"
    )
    print()
    print(f"load average (1 min): {load[0]:.2f} at the start, {load[1]:.2f} at the end")
    header = f"{'phase':<26}{'wall s':>8}{'CPU s':>8}{'MB/s':>8}{'files':>8}{'text MB':>9}{'tokens':>12}"
    print(header + f"{'peak RSS MB':>13}{'growth MB':>11}")
    for label, m in (
        ("reference (1 thread)", ref),
        ("plan, cold token cache", cold),
        ("plan, warm token cache", warm),
    ):
        print(
            f"{label:<26}{m.seconds:>8.2f}{m.total_cpu:>8.2f}{m.mb_per_s:>8.1f}{m.files:>8,}"
            f"{m.text_bytes / 1e6:>9.1f}"
            f"{m.tokens:>12,}{m.rss_peak_kb / 1024:>13.0f}{m.growth_mb:>11.0f}"
        )
    spread = {p: ", ".join(f"{m.seconds:.2f}" for m in r) for p, r in runs.items()}
    print("all wall times (s): " + "; ".join(f"{p} {s}" for p, s in spread.items()))
    print()
    d = cold.detail
    print(
        f"plan totals: {cold.files:,} files ({d['skipped']:,} paths skipped), {cold.tokens:,} source tokens, "
        f"{d['batches']:,} batches, {d['calls']:,} calls, {d['summary_calls']:,} summary calls, "
        f"verdict {d['verdict']}, projected ${float(d['cost_usd']):.2f}"
    )
    for label, m in (("cold", cold), ("warm", warm)):
        prepared_mb = (int(m.detail["rss_prepared_kb"]) - m.rss_start_kb) / 1024
        print(
            f"plan {label}: prepare (walk + count + batching) {float(m.detail['prepare_s']):.2f} s, "
            f"build_plan (simulation) {float(m.detail['build_plan_s']):.2f} s; peak RSS growth "
            f"{prepared_mb:.0f} MB after prepare, {m.growth_mb:.0f} MB after build_plan; "
            f"largest counting worker process {int(m.detail['workers_rss_kb']) / 1024:.0f} MB peak RSS"
            + (f"; notes: {m.detail['notes']}" if m.detail["notes"] else "")
        )
    if (warm.tokens, warm.detail["calls"]) != (cold.tokens, cold.detail["calls"]):
        print("WARNING: the warm plan differs from the cold plan (tokens or calls)")
    print(
        f"corpus: the plan counts {cold.files:,} files / {cold.text_bytes / 1e6:.2f} MB, the reference "
        f"{ref.files:,} / {ref.text_bytes / 1e6:.2f} MB (lessongen also leaves out secret-looking, "
        f"generated and empty files, and keeps text with a few invalid UTF-8 bytes)"
    )
    print()
    ratio = cold.seconds / ref.seconds
    print(
        f"CPU: cold plan {cold.total_cpu:.2f} s ({cold.cpu_seconds:.2f} s in its process: prepare "
        f"{float(cold.detail['prepare_cpu_s']):.2f} s, build_plan {float(cold.detail['build_plan_cpu_s']):.2f} s; "
        f"{cold.workers_cpu_seconds:.2f} s in its workers: secret scanner "
        f"{float(cold.detail['scanner_worker_cpu_s']):.2f} s, counting "
        f"{cold.workers_cpu_seconds - float(cold.detail['scanner_worker_cpu_s']):.2f} s) "
        f"vs reference {ref.total_cpu:.2f} s = "
        f"{cold.total_cpu / ref.total_cpu:.2f}x; spread over {os.cpu_count()} core(s) that is "
        f"{cold.total_cpu / max(os.cpu_count() or 1, 1) / ref.seconds:.2f}x the reference's wall time "
        f"at best"
    )
    print(
        f"cold plan vs reference: {ratio:.2f}x the wall time, {cold.mb_per_s / ref.mb_per_s:.2f}x the "
        f"throughput, {cold.growth_mb / max(ref.growth_mb, 1):.1f}x the peak-memory growth"
    )
    print(
        f"warm plan vs cold plan: {cold.seconds / warm.seconds:.2f}x faster "
        f"({warm.seconds:.2f} s vs {cold.seconds:.2f} s)"
    )
    warm_ratio = warm.seconds / ref.seconds
    memory_ratio = warm.rss_peak_kb / ref.rss_peak_kb
    print(
        f"warm plan vs reference: {warm_ratio:.2f}x the wall time, peak RSS {warm.rss_peak_kb / 1024:.0f} MB "
        f"vs {ref.rss_peak_kb / 1024:.0f} MB = {memory_ratio:.2f}x (cold plan {cold.rss_peak_kb / 1024:.0f} MB)"
    )
    verdict = "PASS" if ratio <= 1.0 else "FAIL"
    print(
        f"target: {TARGET}: {verdict} "
        f"(plan {cold.seconds:.2f} s / reference {ref.seconds:.2f} s = {ratio:.2f})"
    )
    print(
        f"target: {WARM_TARGET}: {'PASS' if warm_ratio <= WARM_RATIO else 'FAIL'} "
        f"(warm plan {warm.seconds:.2f} s / reference {ref.seconds:.2f} s = {warm_ratio:.2f})"
    )
    print(
        f"target: {MEMORY_TARGET}: {'PASS' if memory_ratio <= WARM_MEMORY else 'FAIL'} "
        f"({warm.rss_peak_kb / 1024:.0f} MB / {ref.rss_peak_kb / 1024:.0f} MB = {memory_ratio:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each phase; the median is shown")
    parser.add_argument("--phase", choices=("reference", "plan-cold", "plan-warm"), help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--cache-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    root = args.root or stdlib_root()
    if args.phase:
        run_child(args.phase, root, args.cache_dir)
        return
    prime_page_cache(root)
    load_start = os.getloadavg()[0]
    runs: dict[str, list[Measured]] = {"reference": [], "plan-cold": [], "plan-warm": []}
    with tempfile.TemporaryDirectory(prefix="lessongen-bench-machine-") as machine:
        rules_s = machine_cache(Path(machine))
        for number in range(1, max(args.repeat, 1) + 1):
            print(
                f"run {number}/{args.repeat}: reference, plan cold, plan warm ...",
                file=sys.stderr,
                flush=True,
            )
            with tempfile.TemporaryDirectory(prefix="lessongen-bench-") as cache:
                shutil.copytree(machine, cache, dirs_exist_ok=True)
                runs["reference"].append(spawn("reference", root))
                runs["plan-cold"].append(spawn("plan-cold", root, Path(cache)))
                runs["plan-warm"].append(spawn("plan-warm", root, Path(cache)))
    report(root, runs, rules_s, (load_start, os.getloadavg()[0]))


if __name__ == "__main__":
    main()
