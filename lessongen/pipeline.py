"""The one module that knows the order of the stages: repository -> files -> batches -> conversation."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from lessongen.batching import make_batches
from lessongen.catalog import ModelInfo, resolve_model
from lessongen.compose import Composer
from lessongen.config import Settings
from lessongen.counting import count_files, split_part
from lessongen.data import Batch, FilePart, RepoScan
from lessongen.errors import DoesNotFitError
from lessongen.history import Policy, check_budget, make_policy
from lessongen.plan import Plan, Simulation, Verdict, judge, simulate
from lessongen.prompts import load_prompts
from lessongen.tokencache import TokenCache
from lessongen.tokens import Counter, TokenCounter
from lessongen.walk import GitView, probe_git, scan_repository


@dataclass(frozen=True)
class Prepared:
    """The stages up to the first model call, shared by the dry run and the live run."""

    settings: Settings
    model: ModelInfo
    counter: Counter
    composer: Composer
    policy: Policy
    scan: RepoScan
    parts: tuple[FilePart, ...]
    batches: tuple[Batch, ...]
    budget: int
    system_tokens: int
    notes: tuple[str, ...] = ()


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
