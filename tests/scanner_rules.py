"""The secret scanner's compiled rules, compiled once and shared by a test run's xdist workers.

Compiling them costs about six seconds of CPU, loading them half a second; they depend only on the
library (and on how lessongen asks for them). They are kept in pytest's cache folder between runs,
under a key of the library's version and lessongen's scanner module, so only a run after an upgrade
(or the first one in a checkout) compiles them: then the first xdist worker to start has a background
process compile them while the workers collect. Each worker copies them into its session cache folder
and loads them once (lessongen keeps the loaded rules per process), and `seeded_cache` folders get
copies, so a lessongen subprocess loads them instead of compiling. Without xdist they are compiled when
first needed; without pytest's cache (`-p no:cacheprovider`) they are compiled once per run.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from filelock import FileLock

from lessongen.repo import secret_scanner
from lessongen.repo.secret_scanner import RULES_FOLDER, ProviderScanner

SHARED = "scanner-rules-compiled"  # in the run's shared folder: the compiled rules, once complete
_COMPILE = (
    "import sys; from pathlib import Path; from lessongen.repo.secret_scanner import ProviderScanner; "
    "ProviderScanner(Path(sys.argv[1])).load()"
)
_folders: dict[str, Path] = {}  # "shared": the run's folder; "session": this process's cache folder


def key() -> str:
    """What the compiled rules depend on: the library's version and lessongen's scanner module."""
    source = Path(secret_scanner.__file__).read_bytes()
    return f"{secret_scanner.library_version()}-{hashlib.sha256(source).hexdigest()[:12]}"


def use_folders(store: Path, session_cache: Path) -> None:
    """Name where the compiled rules are kept and this session's cache folder (conftest, once per session)."""
    _folders.update(store=store, session=session_cache)


def compile_into(shared: Path) -> Path:
    """The compiled rules in `shared`, compiled by a fresh process unless another process has.

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


def start_compiling(run_folder: Path, store: Path) -> subprocess.Popen[bytes] | None:
    """Compile the rules into `store` in the background, unless they are there or another worker of the
    run (which all share `run_folder`) has started to."""
    if (store / SHARED).is_dir():
        return None
    try:
        os.close(os.open(run_folder / f"{SHARED}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except OSError:
        return None
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import scanner_rules; "
    code += "from pathlib import Path; scanner_rules.compile_into(Path(sys.argv[1]))"
    return subprocess.Popen(
        [sys.executable, "-c", code, str(store)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


@cache
def compiled_rules() -> Path:
    """The run's compiled rules folder, also loaded into this process and copied to its session cache."""
    kept = _folders["session"] / RULES_FOLDER  # where the CLI runs of this session keep them
    rules = kept if kept.is_dir() and any(kept.iterdir()) else compile_into(_folders["store"])
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
