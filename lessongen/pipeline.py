"""The one module that knows the order of the stages: repository -> files -> batches -> conversation."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from lessongen.anchors import check_chapters, uncovered_files
from lessongen.batching import make_batches
from lessongen.catalog import ModelInfo, resolve_model
from lessongen.compose import Composer
from lessongen.config import Settings
from lessongen.counting import count_files, split_part
from lessongen.data import Batch
from lessongen.errors import DoesNotFitError, InterruptedRun, LessongenError, OutputError, UsageError
from lessongen.history import CallKind, Policy, check_budget, make_policy
from lessongen.journal import Journal, explain_changes
from lessongen.ledger import LedgerEntry
from lessongen.llm import ChatModel
from lessongen.outputs import existing_outputs, remove_outputs, run_report, write_outputs
from lessongen.plan import Plan, Simulation, Verdict, judge, simulate
from lessongen.prepared import Prepared
from lessongen.prompts import load_prompts
from lessongen.run import Conversation, Runner, RunObserver
from lessongen.script import SCHEMA_VERSION, Script
from lessongen.tokencache import TokenCache
from lessongen.tokens import Counter, TokenCounter
from lessongen.walk import GitView, probe_git, scan_repository


def policy_for(settings: Settings, model: ModelInfo) -> Policy:
    """The history policy the settings ask for."""
    return make_policy(
        model,
        keep_recent=settings.keep_recent,
        summary_threshold=settings.summary_threshold,
        preflight_limit=settings.preflight_limit,
        max_reply_tokens=settings.max_reply_tokens,
        batch_reply=settings.reply_tokens,
        summary_reply=settings.summary_reply_tokens,
        intro_reply=settings.intro_reply_tokens,
        max_batch_tokens=settings.max_batch_tokens,
    )


def output_dir(settings: Settings) -> Path:
    """The output folder as an absolute path."""
    return settings.output if settings.output.is_absolute() else Path.cwd() / settings.output


def prepare(
    settings: Settings,
    counter: Counter | None = None,
    git_probe: Callable[[Path], GitView | None] = probe_git,
) -> Prepared:
    """Resolve the model, walk and count the repository, and cut it into batches."""
    model = resolve_model(settings.model, settings.models, settings.model_flags())
    counter = counter or TokenCounter.for_model(settings.model)
    composer = Composer(load_prompts(settings.prompts_dir), counter)
    policy = policy_for(settings, model)
    system_tokens = composer.system().tokens
    budget = policy.batch_budget(system_tokens)
    scan = scan_repository(
        settings.repo,
        include=settings.include,
        exclude=settings.exclude,
        max_file_bytes=settings.max_file_bytes,
        use_git=settings.use_git,
        skip_dirs=(output_dir(settings),),
        git_probe=git_probe,
    )
    cache_path = settings.cache_dir / "tokens.sqlite" if settings.cache_dir else None
    cache = TokenCache(cache_path, counter.encoding_name)
    parts = count_files(scan.files, counter, cache)
    notes = tuple(n for n in (cache.error,) if n)
    batches: tuple[Batch, ...] = ()
    if budget > 0:
        batches = make_batches(parts, budget, partial(split_part, counter=counter))
    return Prepared(
        settings, model, counter, composer, policy, scan, parts, batches, budget, system_tokens, notes
    )


def default_model(settings: Settings) -> tuple[ChatModel, str]:
    """The OpenAI-compatible model the settings name, and the server it talks to (never the key)."""
    from lessongen.openai_model import OpenAIChatModel  # imported on demand: openai is slow to import

    model = OpenAIChatModel(
        settings.model, settings.api_key, settings.base_url, settings.timeout, settings.max_retries
    )
    return model, model.where


def build_plan(prepared: Prepared) -> Plan:
    """The dry run: the calls the history policy will make, their sizes and their cost."""
    try:
        check_budget(prepared.policy, prepared.budget, prepared.system_tokens)
        simulation = simulate(prepared.batches, prepared.composer, prepared.policy, prepared.model)
    except DoesNotFitError as exc:
        simulation = Simulation((), exc)
    verdict, reason = judge(simulation, prepared.model, prepared.settings.max_cost)
    if not prepared.parts and verdict is Verdict.FITS:
        verdict = Verdict.NOTHING_TO_SEND
        reason = "no files to send: the repository is empty or every path was left out (see skipped)"
    return Plan(
        model=prepared.model,
        encoding=prepared.counter.encoding_name,
        policy=prepared.policy,
        batch_budget=prepared.budget,
        system_tokens=prepared.system_tokens,
        scan=prepared.scan,
        parts=prepared.parts,
        batches=prepared.batches,
        calls=simulation.calls,
        verdict=verdict,
        reason=reason,
        max_cost=prepared.settings.max_cost,
    )


@dataclass(frozen=True)
class RunOutcome:
    """What a live run produced, and why it stopped early if it did."""

    plan: Plan
    script: Script
    entries: tuple[LedgerEntry, ...]
    outputs: tuple[Path, ...]
    deviations: tuple[str, ...]
    notes: tuple[str, ...]
    stopped: LessongenError | None


def manifest(prepared: Prepared) -> dict[str, Any]:
    """What a run depends on: a resumed run must find all of it unchanged."""
    s = prepared.settings
    prompts = json.dumps(dict(prepared.composer.prompts.templates), sort_keys=True)
    return {
        "schema_version": SCHEMA_VERSION,
        "model": s.model,
        "prompts": hashlib.sha256(prompts.encode()).hexdigest()[:16],
        "settings": {
            "keep_recent": s.keep_recent,
            "summary_threshold": s.summary_threshold,
            "preflight_limit": s.preflight_limit,
            "reply_tokens": s.reply_tokens,
            "summary_reply_tokens": s.summary_reply_tokens,
            "intro_reply_tokens": s.intro_reply_tokens,
            "max_reply_tokens": s.max_reply_tokens,
            "max_batch_tokens": s.max_batch_tokens,
            "context_window": prepared.model.context_window,
            "include": list(s.include),
            "exclude": list(s.exclude),
        },
        "files": {p.path: p.digest for p in prepared.parts},
    }


def open_journal(prepared: Prepared, resume: bool, force: bool) -> tuple[Journal, list[str]]:
    """The run's journal, after the output-safety and resume checks; nothing is sent before this."""
    folder = output_dir(prepared.settings)
    journal = Journal(folder)
    notes: list[str] = []
    current = manifest(prepared)
    if force:
        journal.clear()
        remove_outputs(folder)
    elif resume and journal.exists():
        changes = explain_changes(journal.manifest(), current)
        if changes:
            raise UsageError(
                "cannot resume: " + "; ".join(changes),
                "undo the change, or pass --force to start over (answers already paid for are discarded)",
            )
        notes.append(f"resuming: {journal.saved_count()} saved answers are reused, none is sent again")
    elif resume:
        notes.append(f"nothing to resume in {folder}: starting a new run")
    elif journal.exists() or existing_outputs(folder):
        raise OutputError(
            f"{folder} already holds a lesson or a saved run",
            "pass --resume to continue it, --force to start over, or --output for another folder",
        )
    if not (resume and journal.exists()):
        journal.start(current)
    return journal, notes


def deviations(plan: Plan, entries: tuple[LedgerEntry, ...], ratio_note: str) -> tuple[str, ...]:
    """How the calls made differ from the plan's (repairs, other summary points)."""
    planned = [c.label for c in plan.calls]
    made = [e.label for e in entries if e.kind != "repair"]
    found: list[str] = []
    repairs = sum(1 for e in entries if e.kind == "repair")
    if repairs:
        found.append(f"{repairs} repair turn(s) for unusable replies")
    if made != planned[: len(made)] or (len(made) == len(planned) and made != planned):
        found.append(f"calls differ from the plan: planned {', '.join(planned)}; made {', '.join(made)}")
    if ratio_note:
        found.append(ratio_note)
    return tuple(found)


def assemble(prepared: Prepared, chat: Conversation, complete: bool) -> Script:
    """The script in lesson order with anchors checked against the files."""
    chapters = list(chat.chapters.values())
    intro = [c for c in chapters if c.source == CallKind.INTRO.value]
    body = sorted(
        (c for c in chapters if c.source != CallKind.INTRO.value), key=lambda c: int(c.source.split()[-1])
    )
    line_counts = {f.path: f.line_count for f in prepared.scan.files}
    checked, issues = check_chapters([*intro, *body], line_counts)
    uncovered = uncovered_files(checked, [p.path for p in prepared.parts]) if complete else ()
    return Script(f"{prepared.scan.root.name}: a guided tour", checked, issues, uncovered, complete)


def execute(
    prepared: Prepared,
    plan: Plan,
    model: ChatModel,
    observer: RunObserver,
    resume: bool,
    force: bool,
    server: str,
) -> RunOutcome:
    """The live run: every planned call against the model, then the script on disk."""
    journal, notes = open_journal(prepared, resume, force)
    for note in notes:
        observer.note(note)
    runner = Runner(prepared, model, journal, observer)
    stopped: LessongenError | None = None
    try:
        runner.run()
    except LessongenError as exc:
        stopped = exc
    except KeyboardInterrupt:
        stopped = InterruptedRun("interrupted", "rerun the same command with --resume to continue")
    chat = runner.chat
    script = assemble(prepared, chat, complete=stopped is None)
    entries = tuple(chat.entries)
    ratio = max(
        (e.prompt_tokens / e.estimate_tokens for e in entries if e.usage_reported and e.estimate_tokens),
        default=1.0,
    )
    ratio_note = (
        f"the server counts up to {ratio:.2f}x our estimate; pre-flight checks were scaled"
        if ratio > 1.01
        else ""
    )
    found = deviations(plan, entries, ratio_note)
    report = run_report(
        plan, entries, script, found, [*notes, *chat.notes], stopped.one_line() if stopped else None, server
    )
    sources = {f.path: f.text for f in prepared.scan.files}
    outputs = write_outputs(output_dir(prepared.settings), script, sources, report)
    return RunOutcome(plan, script, entries, tuple(outputs), found, tuple(chat.notes), stopped)
