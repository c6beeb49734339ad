"""The one module that knows the order of the stages: repository -> files -> batches -> conversation."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from lessongen.batching import make_batches
from lessongen.config.settings import Settings
from lessongen.conversation.advice import TYPICAL_LOCAL, TYPICAL_SERVER, Advice, advise, rates_from_ledger
from lessongen.conversation.compose import Composer
from lessongen.conversation.dry_run import Plan, Simulation, Verdict, judge, simulate
from lessongen.conversation.fit import MIN_BATCH_TOKENS
from lessongen.conversation.history import check_budget, make_policy
from lessongen.conversation.journal import Journal
from lessongen.conversation.ledger import LedgerEntry, estimate_ratio
from lessongen.conversation.live_run import Runner, RunObserver
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.prompts import load_prompts
from lessongen.conversation.replies import (
    cost_if,
    earlier_note,
    learned,
    read_reply_sizes,
    rest_of_run,
    with_reply_sizes,
)
from lessongen.conversation.reuse import Redo
from lessongen.errors import (
    DoesNotFitError,
    InterruptedRun,
    LessongenError,
    OutputError,
    QualityError,
    UsageError,
)
from lessongen.models.backend import Backend, choose_backend, wants_local
from lessongen.models.seam import ChatModel
from lessongen.render.base import Lesson
from lessongen.render.registry import render_lesson
from lessongen.render.source import Recorded, load_lesson, repository_record
from lessongen.render.video.renderer import SceneProgress, Video
from lessongen.render.video.speech import DEFAULT_VOICE
from lessongen.repo.origin import git_origin
from lessongen.repo.secret_scanner import ProviderScanner
from lessongen.repo.secret_worker import BackgroundScanner
from lessongen.repo.secrets import (
    PathNames,
    Redaction,
    SecretFinding,
    SecretScanner,
    SecretsMode,
    refuse,
    scanner_version,
    screen_paths,
    screen_texts,
)
from lessongen.repo.walk import GitView, probe_git, scan_repository
from lessongen.script.assemble import Script
from lessongen.script.outputs import run_report, write_outputs
from lessongen.script.quality import gate_failure, measure
from lessongen.session import assemble, deviations, kept_lesson, open_journal, record_lesson, with_reuse
from lessongen.shared.cache import cache_file
from lessongen.shared.data import Batch, FilePart, RepoScan, SourceFile
from lessongen.shared.storage import output_dir, read_json
from lessongen.tokens.cache import TokenCache
from lessongen.tokens.counter import Counter
from lessongen.tokens.counting import BackgroundCounter, CachedCounter, split_part


@dataclass(frozen=True)
class Caches:
    """What a run remembers from earlier runs: token counts, and files known to hold no secret."""

    tokens: TokenCache
    clean: TokenCache  # digest -> findings (0: clean), for the scanner version that found them

    @classmethod
    def open(cls, cache_dir: Path | None, encoding: str) -> Caches:
        """The caches in `cache_dir` (None: in memory only) for counts in `encoding`."""
        path = cache_file(cache_dir)
        return cls(
            TokenCache(path, f"tokens:{encoding}"), TokenCache(path, f"secrets-scan:{scanner_version()}")
        )

    def flush(self) -> None:
        """Write what was learned; a cache that cannot be written only costs time next run."""
        self.tokens.flush()
        self.clean.flush()


@dataclass(frozen=True)
class RepoRead:
    """The repository as it will be sent: screened for secrets and counted."""

    scan: RepoScan
    parts: tuple[FilePart, ...]
    findings: tuple[SecretFinding, ...]


def prepare(
    settings: Settings,
    backend: Backend | None = None,
    git_probe: Callable[[Path], GitView | None] = probe_git,
    caches: Caches | None = None,
    resume: bool = False,
    redo: Redo | None = None,
) -> Prepared:
    """Resolve the model, walk and count the repository, and cut it into batches.

    When resuming, the saved run's batch budget is kept if it still fits (for example after a smaller
    real window was learned from the server), so the batches, and the answers saved for them, stay.
    With `redo` (an update: what to ask again besides what changed), the previous lesson's other
    chapters are reused.
    """
    backend = backend or choose_backend(settings)
    counter = backend.counter
    caches = caches or Caches.open(settings.paths.cache_dir, counter.encoding_name)
    composer = Composer(load_prompts(settings.paths.prompts_dir), counter)
    policy = make_policy(backend.info, settings.history)
    system_tokens = composer.system().tokens
    budget = policy.batch_budget(system_tokens)  # from the settings' assumptions: batches stay put
    saved = _saved_budget(settings) if resume or redo is not None else None
    if saved is not None and MIN_BATCH_TOKENS <= saved <= policy.largest_batch(system_tokens):
        budget = min(saved, settings.history.max_batch_tokens)
    earlier = read_reply_sizes(output_dir(settings) / "run.json")
    if earlier is not None:  # the calls are planned with the replies an earlier run really had
        policy = with_reply_sizes(policy, earlier)
    read = read_repository(settings, counter, caches, git_probe)
    batches = cut_batches(read.parts, budget, composer, CachedCounter(counter, caches.tokens))
    caches.flush()
    prepared = Prepared(
        settings=settings,
        backend=backend,
        composer=composer,
        policy=policy,
        scan=read.scan,
        parts=read.parts,
        batches=batches,
        budget=budget,
        system_tokens=system_tokens,
        notes=tuple(n for n in (backend.notice, caches.tokens.error, earlier_note(earlier)) if n),
        secrets=read.findings,
    )
    return prepared if redo is None else with_reuse(prepared, redo)


def _saved_budget(settings: Settings) -> int | None:
    """The batch budget the run saved in the output folder started with, if any."""
    budget = Journal(output_dir(settings)).manifest().get("batch_budget") if _has_journal(settings) else None
    return budget if isinstance(budget, int) and not isinstance(budget, bool) else None


def _has_journal(settings: Settings) -> bool:
    try:
        return Journal(output_dir(settings)).exists()
    except OSError:
        return False


def read_repository(
    settings: Settings,
    counter: Counter,
    caches: Caches,
    git_probe: Callable[[Path], GitView | None] = probe_git,
) -> RepoRead:
    """Walk the repository, screen each file for secrets and count it while the walk reads on."""
    mode = settings.walk.secrets
    scanning = BackgroundScanner(SecretScanner(ProviderScanner.in_cache(settings.paths.cache_dir)))
    sent: list[SourceFile] = []  # to the secret scanner
    with scanning, BackgroundCounter(counter, caches.tokens) as counting:  # both work as the walk reads on

        def screen(file: SourceFile) -> None:
            # Secrets are looked for in the scanner's worker process as the walk goes on; a file that
            # holds one is counted again, redacted, once the policy has been applied after the walk.
            if mode is not SecretsMode.OFF and caches.clean.get(file.digest) != 0:
                scanning.add(file)
                sent.append(file)
            counting.add(file)

        scan = scan_repository(
            settings.repo,
            include=settings.walk.include,
            exclude=settings.walk.exclude,
            max_file_bytes=settings.walk.max_file_bytes,
            use_git=settings.walk.use_git,
            skip_dirs=(output_dir(settings),),
            git_probe=git_probe,
            on_file=screen,
        )
        findings: tuple[SecretFinding, ...] = ()
        if mode is not SecretsMode.OFF:
            found, names = scanning.finish([*(f.path for f in scan.files), *(s.path for s in scan.skipped)])
            caches.clean.put_many({f.digest: len(found[f.path][1]) if f.path in found else 0 for f in sent})
            scan, findings = _screened_scan(scan, found, names, mode)
        return RepoRead(scan, counting.parts(scan.files), findings)


def cut_batches(
    parts: Sequence[FilePart], budget: int, composer: Composer, counter: Counter
) -> tuple[Batch, ...]:
    """The parts packed into batches of at most `budget` tokens (none when nothing fits)."""
    if budget <= 0:
        return ()
    return make_batches(parts, budget, partial(split_part, counter=counter), composer.part_overhead)


def _screened_scan(
    scan: RepoScan, found: Mapping[str, Redaction], names: PathNames, mode: SecretsMode
) -> tuple[RepoScan, tuple[SecretFinding, ...]]:
    """The scan with redacted texts and paths and the files held back for their secrets among the
    skipped, and every finding; in fail mode, the refusal (once every file has been seen)."""
    checking = SecretsMode.SKIP_FILE if mode is SecretsMode.FAIL else mode
    texts = screen_texts(((f, found.get(f.path, (f.text, ()))) for f in scan.files), checking)
    if mode is SecretsMode.FAIL and texts.findings:
        refuse(texts.findings)
    result = screen_paths(texts, mode, names)
    left_out = tuple(replace(s, path=names[s.path][0]) for s in scan.skipped)  # listed, never sent
    skipped = tuple(sorted((*left_out, *result.skipped), key=lambda s: s.path))
    return replace(scan, files=result.files, skipped=skipped), result.findings


def build_plan(prepared: Prepared) -> Plan:
    """The dry run: the calls the history policy will make, their sizes and their cost."""
    try:
        check_budget(prepared.policy, prepared.budget, prepared.system_tokens)
        simulation = simulate(
            prepared.batches, prepared.composer, prepared.policy, prepared.model, reused=prepared.reused
        )
    except DoesNotFitError as exc:
        simulation = Simulation((), exc)
    verdict, reason = judge(simulation, prepared.model, prepared.settings.caps.max_cost)
    half, twice = (cost_if(prepared, factor) if simulation.refused is None else None for factor in (0.5, 2.0))
    if prepared.reuse is not None and prepared.reuse.up_to_date and verdict is Verdict.FITS:
        reason = "the lesson is up to date: every chapter is reused, nothing is sent"
    if not prepared.parts and verdict is Verdict.FITS:
        verdict = Verdict.NOTHING_TO_SEND
        reason = "no files to send: the repository is empty or every path was left out (see skipped)"
    return Plan(
        prepared=prepared,
        calls=simulation.calls,
        verdict=verdict,
        reason=reason,
        cost_if_half=half,
        cost_if_twice=twice,
    )


def plan_advice(plan: Plan) -> Advice:
    """The plan's time estimate (from the previous run's ledger of the same model, else a typical rate) and warnings."""
    typical = TYPICAL_LOCAL if wants_local(plan.prepared.settings) else TYPICAL_SERVER
    rates = typical
    ledger = output_dir(plan.prepared.settings) / "run.json"
    if ledger.is_file():
        try:
            previous = read_json(ledger)
        except LessongenError:
            previous = None  # a damaged ledger only costs the better estimate
        if isinstance(previous, dict) and previous.get("model") == plan.model.name:
            calls = previous.get("calls")
            if isinstance(calls, list) and all(isinstance(c, dict) for c in calls):
                try:
                    rates = rates_from_ledger(calls, typical) or typical
                except (KeyError, TypeError, ValueError):
                    rates = typical
    return advise(plan, rates)


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
    report: dict[str, Any]  # what run.json holds
    gate: QualityError | None = None  # a strict run that finished with a lesson below the gate


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
    folder = output_dir(prepared.settings)
    if folder.exists() and not folder.is_dir():  # before anything is saved: nothing to resume
        raise OutputError(f"--output {folder} is a file, not a folder", "pass a folder for the lesson")
    journal = Journal(folder)
    with journal.locked():  # held until the outputs are written: one run per output folder at a time
        return _execute(journal, prepared, plan, model, observer, resume, force, server)


def _execute(
    journal: Journal,
    prepared: Prepared,
    plan: Plan,
    model: ChatModel,
    observer: RunObserver,
    resume: bool,
    force: bool,
    server: str,
) -> RunOutcome:
    notes = open_journal(journal, prepared, resume, force)
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
    for note in journal.damaged:
        observer.note(note)
        notes.append(note)
    script = assemble(prepared, chat, complete=stopped is None)
    folder = output_dir(prepared.settings)
    kept = kept_lesson(folder, script, updating=prepared.reuse is not None)
    if kept:
        observer.note(kept)
        notes.append(kept)
    entries = tuple(chat.entries)
    ratio = estimate_ratio(entries)  # the rule the run's pre-flight checks scaled by
    ratio_note = (
        f"the server counts up to {ratio:.2f}x our estimate; pre-flight checks were scaled"
        if ratio > 1.01
        else ""
    )
    found = deviations(plan, entries, ratio_note)
    report = run_report(
        plan,
        entries,
        script,
        found,
        [*prepared.notes, *notes, *chat.notes],
        stopped.one_line() if stopped else None,
        server,
    )
    report["reply_sizes"] = learned(chat.state).as_json()  # what the next plan of this folder assumes
    report["rest"] = rest_of_run(prepared, chat.state, stopped is None)
    origin = git_origin(prepared.settings.repo)
    report["repository"] = repository_record(prepared.settings.repo, origin)
    report["update"] = prepared.reuse.as_json() if prepared.reuse is not None else None
    gate = prepared.settings.gate
    quality = measure(script)
    failure = gate_failure(quality, gate.max_dropped_anchors)
    report["quality"] = {**quality.as_json(), "strict": gate.strict, "gate_failure": failure or None}
    sources = {f.path: f.text for f in prepared.scan.files}  # as sent: secrets already redacted
    outputs: list[Path] = []
    if not kept:  # a better lesson already there keeps its script, ledger and renderings together
        outputs = write_outputs(folder, script, sources, report)
        record_lesson(folder, prepared, chat, script)
        outputs += render_lesson(Lesson(script, sources, origin), prepared.settings.render.formats, folder)
    failed = (
        QualityError(
            f"the lesson fails the quality gate: {failure}",
            "see script.md; rerun without --strict to accept it",
        )
        if gate.strict and failure and stopped is None
        else None
    )
    return RunOutcome(
        plan, script, entries, tuple(outputs), found, tuple(chat.notes), stopped, report, failed
    )


def render_existing(
    folder: Path,
    settings: Settings,
    recorded: Recorded,
    voice: str = DEFAULT_VOICE,
    progress: SceneProgress | None = None,
) -> tuple[Path, ...]:
    """`lessongen render`: an existing lesson's script and the repository's files, rendered; no model."""
    if not settings.render.formats:
        raise UsageError("no format to render (render_formats is empty)", "pass --formats html,tour,vtt")
    walk = settings.walk
    scanner = SecretScanner(ProviderScanner.in_cache(settings.paths.cache_dir))
    lesson = load_lesson(folder, settings.repo, recorded.origin, walk.secrets, walk.max_file_bytes, scanner)
    return render_lesson(lesson, settings.render.formats, folder, Video(voice, progress=progress))
