"""The command line's options, each declared once; `plan` takes `run`'s less those of a live run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from lessongen.config.flags import Flags

Repo = Annotated[
    Path, typer.Argument(help="The repository folder to turn into a lesson.", show_default=False)
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Plan only: no model call.")]
Model = Annotated[str | None, typer.Option("--model", "-m", help="Model name (default gpt-4o-mini).")]
BaseUrl = Annotated[str | None, typer.Option(help="OpenAI-compatible server URL (or OPENAI_BASE_URL).")]
Window = Annotated[
    int | None, typer.Option("--context-window", help="The model's context window, in tokens.")
]
MaxIn = Annotated[
    int | None, typer.Option("--max-input-tokens", help="The model's prompt limit, if separate.")
]
MaxOut = Annotated[int | None, typer.Option("--max-output-tokens", help="The model's output limit.")]
InPrice = Annotated[float | None, typer.Option("--input-price", help="USD per 1M input tokens.")]
CachedPrice = Annotated[
    float | None, typer.Option("--cached-input-price", help="USD per 1M cached input tokens.")
]
OutPrice = Annotated[float | None, typer.Option("--output-price", help="USD per 1M output tokens.")]
Include = Annotated[
    list[str] | None, typer.Option("--include", help="Only files matching this glob (repeatable).")
]
Exclude = Annotated[
    list[str] | None, typer.Option("--exclude", help="Leave out paths matching this glob (repeatable).")
]
MaxFile = Annotated[int | None, typer.Option("--max-file-bytes", help="Skip files larger than this.")]
NoGit = Annotated[
    bool, typer.Option("--no-git", help="Ignore git's view of tracked files; use ignore files only.")
]
Keep = Annotated[
    int | None, typer.Option("--keep-recent", help="Answered batches that keep their raw source.")
]
Threshold = Annotated[float | None, typer.Option("--summary-threshold", help="Fold old turns at this share.")]
Reply = Annotated[int | None, typer.Option("--reply-tokens", help="Projected reply size of a batch call.")]
SummaryReply = Annotated[
    int | None, typer.Option("--summary-reply-tokens", help="Projected size of a summary.")
]
IntroReply = Annotated[int | None, typer.Option("--intro-reply-tokens", help="Projected size of the intro.")]
Preflight = Annotated[float | None, typer.Option("--preflight-limit", help="Never send above this share.")]
MaxReply = Annotated[int | None, typer.Option("--max-reply-tokens", help="Tokens reserved for each reply.")]
BatchTokens = Annotated[
    int | None, typer.Option("--max-batch-tokens", help="Upper bound of source per batch.")
]
MaxCost = Annotated[
    float | None, typer.Option("--max-cost", help="Stop before spending more than this (USD).")
]
MaxCalls = Annotated[int | None, typer.Option("--max-calls", help="Stop before making more calls than this.")]
Strict = Annotated[
    bool, typer.Option("--strict", help="Exit 7 when a chapter is flagged or too many anchors are dropped.")
]
Prompts = Annotated[Path | None, typer.Option("--prompts-dir", help="Folder with your own prompt templates.")]
Output = Annotated[Path | None, typer.Option("--output", "-o", help="Output folder (default lesson/).")]
Config = Annotated[
    Path | None, typer.Option("--config", help="Config file (default: lessongen.toml or pyproject).")
]
CacheDir = Annotated[Path | None, typer.Option("--cache-dir", help="Folder for lessongen's caches.")]
AsJson = Annotated[
    bool, typer.Option("--json", help="Print the plan (or a live run's report) as JSON on stdout.")
]
Resume = Annotated[
    bool, typer.Option("--resume", help="Continue a stopped run without paying for any call twice.")
]
Update = Annotated[
    bool,
    typer.Option("--update", help="Reuse the unchanged chapters; ask what changed and the intro."),
]
RedoChapters = Annotated[
    list[str] | None,
    typer.Option("--redo", metavar="CHAPTER", help="Ask again: flagged, intro or chapter N (repeatable)."),
]
Force = Annotated[
    bool, typer.Option("--force", help="Start over, replacing the lesson in the output folder.")
]
Timeout = Annotated[float | None, typer.Option("--timeout", help="Seconds per request (default 120).")]
Retries = Annotated[
    int | None, typer.Option("--max-retries", help="Retries on 429/5xx/timeouts (default 5).")
]
Local = Annotated[
    bool | None, typer.Option("--local/--no-local", help="Run a GGUF model in-process (extra 'local').")
]
ModelPath = Annotated[Path | None, typer.Option("--model-path", help="A GGUF file for --local.")]
Fallback = Annotated[
    int | None, typer.Option("--fallback-context-window", help="Window when nothing else says.")
]
Refresh = Annotated[
    bool, typer.Option("--refresh", help="Ask the server for its window (or time the local model) again.")
]
NoProbe = Annotated[
    bool, typer.Option("--no-probe", help="Do not time the local model for the plan's estimate.")
]
Secrets = Annotated[str | None, typer.Option("--secrets", help="redact (default), skip-file, fail or off.")]
LessonRepo = Annotated[
    Path | None,
    typer.Option("--repo", help="The repository the lesson shows (default: as run.json records, else .)."),
]
Formats = Annotated[
    str | None,
    typer.Option(
        "--formats",
        help="Render html, tour, vtt, mp4 (comma-separated; none for none). Default html,tour,vtt.",
    ),
]
ListSkipped = Annotated[bool, typer.Option("--list-skipped", help="List every skipped path with its reason.")]


@dataclass(frozen=True)
class LessonOptions:
    """What `run` and `plan` were given: the settings' flags, and what steers the command itself."""

    flags: Flags
    dry_run: bool = False
    config: Path | None = None
    resume: bool = False
    update: bool = False
    redo: list[str] | None = None
    force: bool = False
    as_json: bool = False
    list_skipped: bool = False


# What only a live run uses; --max-calls stays on plan, as run --dry-run accepts it.
LIVE_ONLY = frozenset({"dry_run", "strict", "timeout", "max_retries", "formats", "resume", "force"})


class PlanCommand(TyperCommand):
    """`run`'s command less the options of a live run: a plan is exactly `run --dry-run`."""

    def __init__(self, name: str | None, *, params: list[Any] | None = None, **rest: Any) -> None:
        kept = [param for param in params or () if param.name not in LIVE_ONLY]
        super().__init__(name, params=kept, **rest)

    def invoke(self, ctx: Any) -> Any:
        """Call `run` with --dry-run set, the live-only options at their defaults."""
        ctx.params["dry_run"] = True
        return super().invoke(ctx)
