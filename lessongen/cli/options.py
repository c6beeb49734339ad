"""The command line's options, each declared once; `run` and `plan` share theirs through LessonOptions."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Annotated, get_type_hints

import typer

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
    """Every option of `run`, in --help order; `plan` takes them less LIVE_ONLY."""

    dry_run: DryRun = False
    model: Model = None
    base_url: BaseUrl = None
    context_window: Window = None
    max_input_tokens: MaxIn = None
    max_output_tokens: MaxOut = None
    input_price: InPrice = None
    cached_input_price: CachedPrice = None
    output_price: OutPrice = None
    include: Include = None
    exclude: Exclude = None
    max_file_bytes: MaxFile = None
    no_git: NoGit = False
    keep_recent: Keep = None
    summary_threshold: Threshold = None
    preflight_limit: Preflight = None
    reply_tokens: Reply = None
    summary_reply_tokens: SummaryReply = None
    intro_reply_tokens: IntroReply = None
    max_reply_tokens: MaxReply = None
    max_batch_tokens: BatchTokens = None
    max_cost: MaxCost = None
    max_calls: MaxCalls = None
    strict: Strict = False
    timeout: Timeout = None
    max_retries: Retries = None
    local: Local = None
    model_path: ModelPath = None
    fallback_context_window: Fallback = None
    refresh: Refresh = False
    no_probe: NoProbe = False
    secrets: Secrets = None
    prompts_dir: Prompts = None
    output: Output = None
    config: Config = None
    cache_dir: CacheDir = None
    formats: Formats = None
    resume: Resume = False
    update: Update = False
    redo: RedoChapters = None
    force: Force = False
    as_json: AsJson = False
    list_skipped: ListSkipped = False

    def flags(self) -> Flags:
        """The settings these options give, None where one was not given (so config files still count)."""
        return Flags(
            model=self.model,
            base_url=self.base_url,
            context_window=self.context_window,
            max_input_tokens=self.max_input_tokens,
            max_output_tokens=self.max_output_tokens,
            input_price=self.input_price,
            cached_input_price=self.cached_input_price,
            output_price=self.output_price,
            include=self.include,
            exclude=self.exclude,
            max_file_bytes=self.max_file_bytes,
            use_git=False if self.no_git else None,
            keep_recent=self.keep_recent,
            summary_threshold=self.summary_threshold,
            preflight_limit=self.preflight_limit,
            reply_tokens=self.reply_tokens,
            summary_reply_tokens=self.summary_reply_tokens,
            intro_reply_tokens=self.intro_reply_tokens,
            max_reply_tokens=self.max_reply_tokens,
            max_batch_tokens=self.max_batch_tokens,
            max_cost=self.max_cost,
            max_calls=self.max_calls,
            strict=True if self.strict else None,
            timeout=self.timeout,
            max_retries=self.max_retries,
            local=self.local,
            model_path=self.model_path,
            fallback_context_window=self.fallback_context_window,
            refresh=True if self.refresh else None,
            probe_speed=False if self.no_probe else None,
            secrets=self.secrets,
            prompts_dir=self.prompts_dir,
            output=self.output,
            cache_dir=self.cache_dir,
            render_formats=self.formats,
        )


# What only a live run uses; --max-calls stays on plan, as run --dry-run accepts it.
LIVE_ONLY = frozenset({"dry_run", "strict", "timeout", "max_retries", "formats", "resume", "force"})


def lesson_command(
    body: Callable[[Path, LessonOptions], None], leave_out: Iterable[str] = ()
) -> Callable[..., None]:
    """A typer command `body(repo, options)` whose parameters are LessonOptions' fields less `leave_out`."""
    skipped = frozenset(leave_out)
    unknown = skipped - {f.name for f in fields(LessonOptions)}
    if unknown:
        raise ValueError(f"not an option of run: {sorted(unknown)}")
    hints = get_type_hints(LessonOptions, include_extras=True)
    # typer reads a command's options from its signature; this one is built from the dataclass, so each
    # option is declared once and the command still receives one typed object.
    parameters = [inspect.Parameter("repo", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Repo)]
    parameters += [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=hints[f.name])
        for f in fields(LessonOptions)
        if f.name not in skipped
    ]

    def command(repo: Path, **given: object) -> None:
        body(repo, LessonOptions(**given))  # type: ignore[arg-type]

    command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    command.__name__ = body.__name__
    command.__qualname__ = body.__qualname__
    command.__doc__ = body.__doc__
    return command
