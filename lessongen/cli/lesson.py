"""`run` and `plan`: one command function; what they do is in cli/drive.py, imported only when one runs."""

from __future__ import annotations

from lessongen.cli import options as opt
from lessongen.cli.common import guard
from lessongen.config.flags import Flags

PLAN_HELP = "Show what a run would send, what is left out and why, every call's size, and the cost."


def run(  # a command's parameters are its options: declared here once, for run and plan
    repo: opt.Repo,
    dry_run: opt.DryRun = False,
    model: opt.Model = None,
    base_url: opt.BaseUrl = None,
    context_window: opt.Window = None,
    max_input_tokens: opt.MaxIn = None,
    max_output_tokens: opt.MaxOut = None,
    input_price: opt.InPrice = None,
    cached_input_price: opt.CachedPrice = None,
    output_price: opt.OutPrice = None,
    include: opt.Include = None,
    exclude: opt.Exclude = None,
    max_file_bytes: opt.MaxFile = None,
    no_git: opt.NoGit = False,
    keep_recent: opt.Keep = None,
    summary_threshold: opt.Threshold = None,
    preflight_limit: opt.Preflight = None,
    reply_tokens: opt.Reply = None,
    summary_reply_tokens: opt.SummaryReply = None,
    intro_reply_tokens: opt.IntroReply = None,
    max_reply_tokens: opt.MaxReply = None,
    max_batch_tokens: opt.BatchTokens = None,
    max_cost: opt.MaxCost = None,
    max_calls: opt.MaxCalls = None,
    strict: opt.Strict = False,
    timeout: opt.Timeout = None,
    max_retries: opt.Retries = None,
    local: opt.Local = None,
    model_path: opt.ModelPath = None,
    fallback_context_window: opt.Fallback = None,
    refresh: opt.Refresh = False,
    no_probe: opt.NoProbe = False,
    secrets: opt.Secrets = None,
    prompts_dir: opt.Prompts = None,
    output: opt.Output = None,
    config: opt.Config = None,
    cache_dir: opt.CacheDir = None,
    formats: opt.Formats = None,
    resume: opt.Resume = False,
    update: opt.Update = False,
    redo: opt.RedoChapters = None,
    force: opt.Force = False,
    as_json: opt.AsJson = False,
    list_skipped: opt.ListSkipped = False,
) -> None:
    """Write the lesson: plan, then drive one growing chat with the model (or only plan with --dry-run)."""
    # None where a flag was not given, so config files and the environment still count.
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
        probe_speed=False if no_probe else None,
        secrets=secrets,
        prompts_dir=prompts_dir,
        output=output,
        cache_dir=cache_dir,
        render_formats=formats,
    )
    options = opt.LessonOptions(
        flags=flags,
        dry_run=dry_run,
        config=config,
        resume=resume,
        update=update,
        redo=redo,
        force=force,
        as_json=as_json,
        list_skipped=list_skipped,
    )
    from lessongen.cli.drive import invoke  # the pipeline, imported when a command runs (not for --help)

    guard(lambda: invoke(repo, options))
