"""Benchmark: what `lessongen run --update` sends and costs after an edit to one file, against a full run.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/update.py [--folders 15] [--edit 8]

It generates a repository of FOLDERS package folders (three modules of about 1,100 tokens each, a
README), so that with `--max-batch-tokens 4000` each folder is one batch: about 15 batches. It starts
the fake server of `tests/fake_openai.py` on 127.0.0.1 with its normal scripted replies (a scene per
file of the request, nothing arranged for this benchmark) and runs the real `lessongen` command in a
subprocess, with the real `openai` client over HTTP: first a full run, then an edit of one constant
in one module of folder EDIT, then `lessongen run --update` into the same output folder.

For each run it prints the calls the server received (batch calls, summaries, the intro) and the
cost as lessongen's own ledger (run.json) bills it with the catalog's gpt-4o-mini prices, prompt
caching included. Target (issue 15): the update sends at most two batch calls and the intro and costs
at most 15% of the full run. PASS/FAIL is computed from those measurements; the script exits 0 either
way.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fake_openai import FakeServer, RecordedRequest, file_tags

MAX_BATCH = 4000
MODULES = 3
FUNCTIONS = 30  # about 1,100 tokens a module
CALLS_TARGET = 2  # batch calls an update after one edit may send, besides the intro
COST_TARGET = 0.15  # of the full run's cost


def generate(root: Path, folders: int) -> Path:
    """A repository of `folders` package folders of MODULES modules each, and a README."""
    repo = root / "repo"
    (repo / "README.md").parent.mkdir(parents=True)
    (repo / "README.md").write_text("# shapes\n\nGeometry helpers, generated for the update benchmark.\n")
    for f in range(folders):
        folder = repo / "shapes" / f"part{f:02d}"
        folder.mkdir(parents=True)
        for m in range(MODULES):
            body = "".join(
                f"def area_{f}_{m}_{j}(width: float, height: float) -> float:\n"
                f'    """The area of shape {j} in part {f}."""\n'
                f"    return width * height * {j + 1}\n\n\n"
                for j in range(FUNCTIONS)
            )
            (folder / f"module{m}.py").write_text(f'"""Part {f}, module {m}."""\n\n\n' + body)
    return repo


@dataclass(frozen=True)
class Measured:
    """One run: its exit code, the calls the server received by kind, and the ledger's cost."""

    code: int
    batch_calls: int
    summaries: int
    intro: int
    cost_usd: float
    ledger_calls: int


def kind(request: RecordedRequest) -> str:
    """What a chat call asked for, from what the server received."""
    last = str(request.messages[-1].get("content") or "")
    if file_tags(last):
        return "batch"
    return "summary" if "summar" in last.lower() else "intro"


def lessongen(server: FakeServer, repo: Path, out: Path, cache: Path, *args: str) -> Measured:
    """Run the real command in a subprocess and measure it."""
    seen = len(server.chat_requests)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("LESSONGEN_", "OPENAI_"))},
        "OPENAI_API_KEY": "bench-" + "k" * 12,
        "LESSONGEN_LOCAL": "false",
        "LESSONGEN_CACHE_DIR": str(cache),
        "NO_COLOR": "1",
    }
    command = [sys.executable, "-m", "lessongen", "run", str(repo), "--base-url", server.base_url]
    command += ["--output", str(out), "--max-batch-tokens", str(MAX_BATCH), "--formats", "none", *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    kinds = [kind(r) for r in server.chat_requests[seen:]]
    report: dict[str, Any] = json.loads((out / "run.json").read_text())
    return Measured(
        done.returncode,
        kinds.count("batch"),
        kinds.count("summary"),
        kinds.count("intro"),
        float(report["totals"]["cost_usd"]),
        len(report["calls"]),
    )


def show(name: str, run: Measured) -> None:
    print(
        f"{name:<8} exit {run.code}  batch calls {run.batch_calls:>3}  summaries {run.summaries}  "
        f"intro {run.intro}  cost ${run.cost_usd:.6f} (ledger: {run.ledger_calls} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folders", type=int, default=15, help="package folders (about one batch each)")
    parser.add_argument("--edit", type=int, default=8, help="the folder whose first module is edited")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lessongen-update-") as tmp, FakeServer() as server:
        root = Path(tmp)
        repo = generate(root, args.folders)
        out, cache = root / "lesson", root / "cache"
        full = lessongen(server, repo, out, cache)
        batches = len(json.loads((out / "script.json").read_text())["chapters"]) - 1
        edited = repo / "shapes" / f"part{args.edit:02d}" / "module0.py"
        edited.write_text(edited.read_text().replace("* 7\n", "* 70\n", 1))
        update = lessongen(server, repo, out, cache, "--update")
        print(f"repository: {args.folders} folders, {batches} batches of at most {MAX_BATCH:,} tokens")
        print(f"edit: one constant in {edited.relative_to(repo)}")
        show("full", full)
        show("update", update)
        share = update.cost_usd / full.cost_usd if full.cost_usd else float("inf")
        print(f"update / full cost: {share:.1%} (target at most {COST_TARGET:.0%})")
        print(f"update batch calls: {update.batch_calls} (target at most {CALLS_TARGET}, and the intro)")
        ok = (
            full.code == 0
            and update.code == 0
            and update.batch_calls <= CALLS_TARGET
            and update.intro == 1
            and share <= COST_TARGET
        )
        print("PASS" if ok else "FAIL")


if __name__ == "__main__":
    main()
