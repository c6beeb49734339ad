"""The secret scanner's compiled rules, compiled once per test run and shared by its xdist workers.

Compiling them costs about six seconds of CPU, loading them half a second; they depend only on the
library. The first xdist worker to start has a background process compile them into the run's shared
folder while the workers collect; each worker then copies them into its session cache folder and loads
them once (lessongen keeps the loaded rules per process), and `seeded_cache` folders get copies, so a
lessongen subprocess loads them instead of compiling. Without xdist they are compiled when first needed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from filelock import FileLock

from lessongen.repo.secret_scanner import RULES_FOLDER, ProviderScanner

SHARED = "scanner-rules-compiled"  # in the run's shared folder: the compiled rules, once complete
_COMPILE = (
    "import sys; from pathlib import Path; from lessongen.repo.secret_scanner import ProviderScanner; "
    "ProviderScanner(Path(sys.argv[1])).load()"
)
_folders: dict[str, Path] = {}  # "shared": the run's folder; "session": this process's cache folder


def use_folders(shared: Path, session_cache: Path) -> None:
    """Name the run's shared folder and this session's cache folder (conftest, once per session)."""
    _folders.update(shared=shared, session=session_cache)


def compile_into(shared: Path) -> Path:
    """The compiled rules in `shared`, compiled by a fresh process unless another process of the run has.

    A fresh process, because lessongen loads the rules once per process: a test process that has loaded
    them already would not write them out.
    """
    done = shared / SHARED
    with FileLock(shared / f"{SHARED}.lock"):
        if not done.is_dir():
            work = shared / f"{SHARED}.part"
            shutil.rmtree(work, ignore_errors=True)
            run = subprocess.run([sys.executable, "-c", _COMPILE, str(work)], capture_output=True, text=True)
            if run.returncode != 0 or not any(work.iterdir()):
                raise RuntimeError(f"compiling the scanner's rules failed ({run.returncode}):\n{run.stderr}")
            work.rename(done)
    return done


def start_compiling(shared: Path) -> subprocess.Popen[bytes] | None:
    """Compile the rules into `shared` in the background, unless another worker of the run has started to."""
    try:
        os.close(os.open(shared / f"{SHARED}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:
        return None
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import scanner_rules; "
    code += "from pathlib import Path; scanner_rules.compile_into(Path(sys.argv[1]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(shared)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@cache
def compiled_rules() -> Path:
    """The run's compiled rules folder, also loaded into this process and copied to its session cache."""
    kept = _folders["session"] / RULES_FOLDER  # where the CLI runs of this session keep them
    rules = kept if kept.is_dir() and any(kept.iterdir()) else compile_into(_folders["shared"])
    seed(_folders["session"], rules)
    ProviderScanner(rules).load()
    return rules


def seed(cache_folder: Path, rules: Path | None = None) -> Path:
    """`cache_folder` holding a copy of the compiled rules (nothing else)."""
    cache_folder.mkdir(parents=True, exist_ok=True)
    if not (cache_folder / RULES_FOLDER).exists():
        with contextlib.suppress(FileExistsError):
            shutil.copytree(rules or compiled_rules(), cache_folder / RULES_FOLDER)
    return cache_folder
