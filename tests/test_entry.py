"""The console entry point: what it sets up for the command's own process, and nothing at import."""

import json
import subprocess
import sys

# Runs the entry point as the console script does, then says how the garbage collector is paced.
_PROBE = """
import gc, json, sys
default = gc.get_threshold()
import lessongen.cli
imported = gc.get_threshold()
sys.argv = ["lessongen", "--version"]
try:
    lessongen.cli.main()
except SystemExit:
    pass
print(json.dumps([default, imported, gc.get_threshold()]))
"""


def test_the_entry_point_collects_young_objects_less_often_and_importing_it_changes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=60, check=True
    )
    lines = done.stdout.splitlines()
    default, imported, after = json.loads(lines[-1])
    assert imported == default  # importing the CLI leaves the process as it was
    assert after[0] >= 10 * default[0]  # a large plan's objects are not walked every 700 allocations
    assert after[1:] == default[1:]
    assert lines[0].startswith("lessongen ")
