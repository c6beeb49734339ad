"""The one package that knows the order of the stages: repository -> files -> batches -> conversation -> lesson.

`prepare` reads the repository into batches, `build_plan` is the dry run, `execute` the live run;
`render_existing` renders a lesson made before.
"""

from lessongen.pipeline.cutting import cut_batches
from lessongen.pipeline.planning import build_plan, plan_advice
from lessongen.pipeline.preparing import Caches, RepoRead, prepare, read_repository
from lessongen.pipeline.rendering import render_existing
from lessongen.pipeline.running import RunOutcome, execute

__all__ = [
    "Caches",
    "RepoRead",
    "RunOutcome",
    "build_plan",
    "cut_batches",
    "execute",
    "plan_advice",
    "prepare",
    "read_repository",
    "render_existing",
]
