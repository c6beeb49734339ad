"""The command line: parse, delegate to the pipeline, render. Nothing else happens here."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from lessongen import __version__
from lessongen.config.flags import Flags
from lessongen.config.settings import Settings, resolve_settings
from lessongen.conversation.dry_run import Plan, Verdict
from lessongen.conversation.plan_report import plan_report
from lessongen.errors import ExitCode, LessongenError, UsageError
from lessongen.models.backend import available_models
from lessongen.pipeline import build_plan, execute, plan_advice, prepare, render_existing
from lessongen.render.source import recorded_repository
from lessongen.render.video.speech import DEFAULT_VOICE
from lessongen.ui import (
    SceneBar,
    error,
    make_console,
    make_observer,
    render_models,
    render_plan,
    render_run,
    render_written,
)

app = typer.Typer(
    name="lessongen",
    help="Turn a source repository into a lesson script, one growing chat with a model.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Repo = Annotated[
    Path, typer.Argument(help="The repository folder to turn into a lesson.", show_default=False)
]
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
Refresh = Annotated[bool, typer.Option("--refresh", help="Ask the server for its window again (no cache).")]
Secrets = Annotated[str | None, typer.Option("--secrets", help="redact (default), skip-file, fail or off.")]
Formats = Annotated[
    str | None,
    typer.Option(
        "--formats",
        help="Render html, tour, vtt, mp4 (comma-separated; none for none). Default html,tour,vtt.",
    ),
]
ListSkipped = Annotated[bool, typer.Option("--list-skipped", help="List every skipped path with its reason.")]

_VERDICT_EXIT = {
    Verdict.FITS: ExitCode.OK,
    Verdict.DOES_NOT_FIT: ExitCode.DOES_NOT_FIT,
    Verdict.OVER_BUDGET: ExitCode.OVER_BUDGET,
    Verdict.NOTHING_TO_SEND: ExitCode.USAGE,
}


@dataclass(frozen=True)
class Invocation:
    """One `run` or `plan`: where, with which flags, and how to report."""

    repo: Path
    config: Path | None
    flags: Flags
    dry_run: bool
    as_json: bool
    list_skipped: bool
    resume: bool = False
    force: bool = False


def _settings(repo: Path, config: Path | None, flags: Flags) -> Settings:
    return resolve_settings(repo, flags.settings(), os.environ, config)


def _show_plan(plan: Plan, as_json: bool, list_skipped: bool) -> None:
    advice = plan_advice(plan)
    if as_json:
        typer.echo(json.dumps({**plan_report(plan), **advice.as_json()}, indent=2))
    else:
        render_plan(make_console(), plan, advice, list_skipped=list_skipped)
    code = _VERDICT_EXIT[plan.verdict]
    if code is not ExitCode.OK:
        # stdout holds the whole plan (perhaps JSON for a tool); a CI log needs the reason on stderr too.
        error(make_console(stderr=True), f"verdict {plan.verdict.value}: {plan.reason}")
        raise typer.Exit(int(code))


def _plan(settings: Settings, as_json: bool, list_skipped: bool) -> None:
    prepared = prepare(settings)
    notes = make_console(stderr=True)
    for note in prepared.notes:
        notes.print(f"note: {note}", soft_wrap=True)
    _show_plan(build_plan(prepared), as_json, list_skipped)


def _guard(action: Any, *args: Any) -> None:
    try:
        action(*args)
    except LessongenError as exc:
        error(make_console(stderr=True), exc.one_line())
        raise typer.Exit(int(exc.exit_code)) from None
    except KeyboardInterrupt:
        error(make_console(stderr=True), "interrupted (rerun with --resume to continue a live run)")
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def _invoke(call: Invocation) -> None:
    if call.resume and call.force:  # --force would silently discard the answers --resume means to reuse
        raise UsageError("--resume and --force contradict each other", "pass one of them")
    settings = _settings(call.repo, call.config, call.flags)
    if call.dry_run:
        _plan(settings, call.as_json, call.list_skipped)
    else:
        _live(settings, call.resume, call.force, call.list_skipped, call.as_json)


def _live(settings: Settings, resume: bool, force: bool, list_skipped: bool, as_json: bool) -> None:
    prepared = prepare(settings, resume=resume)
    plan = build_plan(prepared)
    if plan.verdict is not Verdict.FITS:
        _show_plan(plan, as_json=as_json, list_skipped=list_skipped)
    backend = prepared.backend
    model = backend.open_model()
    progress = make_console(stderr=True)
    observer = make_observer(progress, prepared.model.context_window, plan.calls)
    for note in prepared.notes:
        observer.note(note)
    try:
        outcome = execute(prepared, plan, model, observer, resume=resume, force=force, server=backend.where)
    finally:
        observer.close()
        model.close()
    if as_json:
        typer.echo(json.dumps(outcome.report, indent=2))
    else:
        render_run(make_console(), outcome)
    if outcome.stopped is not None:
        raise outcome.stopped
    if outcome.gate is not None:
        raise outcome.gate


@app.command()
def run(
    repo: Repo,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan only: no model call.")] = False,
    model: Model = None,
    base_url: BaseUrl = None,
    context_window: Window = None,
    max_input_tokens: MaxIn = None,
    max_output_tokens: MaxOut = None,
    input_price: InPrice = None,
    cached_input_price: CachedPrice = None,
    output_price: OutPrice = None,
    include: Include = None,
    exclude: Exclude = None,
    max_file_bytes: MaxFile = None,
    no_git: NoGit = False,
    keep_recent: Keep = None,
    summary_threshold: Threshold = None,
    preflight_limit: Preflight = None,
    reply_tokens: Reply = None,
    summary_reply_tokens: SummaryReply = None,
    intro_reply_tokens: IntroReply = None,
    max_reply_tokens: MaxReply = None,
    max_batch_tokens: BatchTokens = None,
    max_cost: MaxCost = None,
    max_calls: MaxCalls = None,
    strict: Strict = False,
    timeout: Timeout = None,
    max_retries: Retries = None,
    local: Local = None,
    model_path: ModelPath = None,
    fallback_context_window: Fallback = None,
    refresh: Refresh = False,
    secrets: Secrets = None,
    prompts_dir: Prompts = None,
    output: Output = None,
    config: Config = None,
    cache_dir: CacheDir = None,
    formats: Formats = None,
    resume: Resume = False,
    force: Force = False,
    as_json: AsJson = False,
    list_skipped: ListSkipped = False,
) -> None:
    """Write the lesson: plan, then drive one growing chat with the model (or only plan with --dry-run)."""
    flags = Flags(
        model=model,
        base_url=base_url,
        context_window=context_window,
        max_input_tokens=max_input_tokens,
        max_output_tokens=max_output_tokens,
        input_price=input_price,
        cached_input_price=cached_input_price,
        output_price=output_price,
        include=include,
        exclude=exclude,
        max_file_bytes=max_file_bytes,
        use_git=False if no_git else None,
        keep_recent=keep_recent,
        summary_threshold=summary_threshold,
        preflight_limit=preflight_limit,
        reply_tokens=reply_tokens,
        summary_reply_tokens=summary_reply_tokens,
        intro_reply_tokens=intro_reply_tokens,
        max_reply_tokens=max_reply_tokens,
        max_batch_tokens=max_batch_tokens,
        max_cost=max_cost,
        max_calls=max_calls,
        strict=True if strict else None,
        timeout=timeout,
        max_retries=max_retries,
        local=local,
        model_path=model_path,
        fallback_context_window=fallback_context_window,
        refresh=True if refresh else None,
        secrets=secrets,
        prompts_dir=prompts_dir,
        output=output,
        cache_dir=cache_dir,
        render_formats=formats,
    )
    _guard(_invoke, Invocation(repo, config, flags, dry_run, as_json, list_skipped, resume, force))


@app.command()
def plan(
    repo: Repo,
    model: Model = None,
    base_url: BaseUrl = None,
    context_window: Window = None,
    max_input_tokens: MaxIn = None,
    max_output_tokens: MaxOut = None,
    input_price: InPrice = None,
    cached_input_price: CachedPrice = None,
    output_price: OutPrice = None,
    include: Include = None,
    exclude: Exclude = None,
    max_file_bytes: MaxFile = None,
    no_git: NoGit = False,
    keep_recent: Keep = None,
    summary_threshold: Threshold = None,
    preflight_limit: Preflight = None,
    reply_tokens: Reply = None,
    summary_reply_tokens: SummaryReply = None,
    intro_reply_tokens: IntroReply = None,
    max_reply_tokens: MaxReply = None,
    max_batch_tokens: BatchTokens = None,
    max_cost: MaxCost = None,
    max_calls: MaxCalls = None,
    local: Local = None,
    model_path: ModelPath = None,
    fallback_context_window: Fallback = None,
    refresh: Refresh = False,
    secrets: Secrets = None,
    prompts_dir: Prompts = None,
    output: Output = None,
    config: Config = None,
    cache_dir: CacheDir = None,
    as_json: AsJson = False,
    list_skipped: ListSkipped = False,
) -> None:
    """Show what a run would send, what is left out and why, every call's size, and the cost."""
    # run's options less those only a live run uses (timeout, max_retries, resume, force); --max-calls is
    # accepted as run --dry-run accepts it.
    flags = Flags(
        model=model,
        base_url=base_url,
        context_window=context_window,
        max_input_tokens=max_input_tokens,
        max_output_tokens=max_output_tokens,
        input_price=input_price,
        cached_input_price=cached_input_price,
        output_price=output_price,
        include=include,
        exclude=exclude,
        max_file_bytes=max_file_bytes,
        use_git=False if no_git else None,
        keep_recent=keep_recent,
        summary_threshold=summary_threshold,
        preflight_limit=preflight_limit,
        reply_tokens=reply_tokens,
        summary_reply_tokens=summary_reply_tokens,
        intro_reply_tokens=intro_reply_tokens,
        max_reply_tokens=max_reply_tokens,
        max_batch_tokens=max_batch_tokens,
        max_cost=max_cost,
        max_calls=max_calls,
        local=local,
        model_path=model_path,
        fallback_context_window=fallback_context_window,
        refresh=True if refresh else None,
        secrets=secrets,
        prompts_dir=prompts_dir,
        output=output,
        cache_dir=cache_dir,
    )
    _guard(_invoke, Invocation(repo, config, flags, True, as_json, list_skipped))


@app.command()
def models(
    base_url: BaseUrl = None,
    refresh: Refresh = False,
    config: Config = None,
    cache_dir: CacheDir = None,
    repo: Annotated[Path, typer.Option("--repo", help="Where to look for lessongen.toml.")] = Path("."),
) -> None:
    """List the models a server offers with the context window found and where it came from."""
    flags = Flags(base_url=base_url, refresh=True if refresh else None, cache_dir=cache_dir)

    def go() -> None:
        settings = _settings(repo, config, flags)
        render_models(make_console(), available_models(settings), settings.model.base_url)

    _guard(go)


@app.command()
def render(
    lesson: Annotated[
        Path, typer.Argument(help="The lesson folder lessongen run wrote (default lesson/).")
    ] = Path("lesson"),
    formats: Formats = None,
    repo: Annotated[
        Path | None,
        typer.Option(
            "--repo", help="The repository the lesson shows (default: as run.json records, else .)."
        ),
    ] = None,
    secrets: Secrets = None,
    config: Config = None,
    voice: Annotated[
        str,
        typer.Option(
            "--voice", help="The piper voice of --formats mp4: joe-us (bundled) or a local .onnx file."
        ),
    ] = DEFAULT_VOICE,
) -> None:
    """Render an existing lesson as a web page, CodeTour tours, captions or a narrated MP4: no model call, no key."""

    def go() -> None:
        recorded = recorded_repository(lesson)
        root = repo or recorded.root or Path(".")
        settings = _settings(root, config, Flags(render_formats=formats, secrets=secrets))
        bar = SceneBar(make_console(stderr=True))
        try:
            written = render_existing(lesson, settings, recorded, voice, progress=bar)
        finally:
            bar.close()
        render_written(make_console(), written)

    _guard(go)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lessongen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """lessongen: a lesson script from a source repository."""


def main() -> None:
    """Console-script entry point."""
    app()
