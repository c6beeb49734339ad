"""Repository -> batches: the model resolved, the files walked, screened for secrets, counted and cut."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path

from lessongen.config.settings import Settings
from lessongen.conversation.compose import Composer, tag_joins
from lessongen.conversation.fit import MIN_BATCH_TOKENS
from lessongen.conversation.history import make_policy
from lessongen.conversation.journal import Journal
from lessongen.conversation.lesson_record import recorded_batches
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.prompts import load_prompts
from lessongen.conversation.replies import earlier_note, read_reply_sizes, with_reply_sizes
from lessongen.conversation.reuse import Redo
from lessongen.models.backend import Backend, choose_backend
from lessongen.pipeline.cutting import cut_batches, read_unread
from lessongen.repo.known_secrets import KnownRedaction, KnownSecrets
from lessongen.repo.reading import Reading
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
from lessongen.repo.stat_index import StatIndex
from lessongen.repo.walk import GitView, probe_git, scan_repository
from lessongen.session import with_reuse
from lessongen.shared.cache import cache_file
from lessongen.shared.data import FilePart, RepoScan, SourceFile
from lessongen.shared.storage import output_dir
from lessongen.tokens.cache import SplitCache, TokenCache
from lessongen.tokens.counter import Counter
from lessongen.tokens.counting import BackgroundCounter, CachedCounter


@dataclass(frozen=True)
class Caches:
    """What a run remembers from earlier runs: token counts, and files known to hold no secret."""

    tokens: TokenCache
    clean: TokenCache  # digest -> findings (0: clean), for the scanner version that found them
    files: StatIndex  # path and stat -> what reading the file gave
    splits: SplitCache  # how contents larger than a batch were cut, per budget
    found: KnownSecrets  # what the scan found in contents and paths, for the scanner version

    @classmethod
    def open(cls, cache_dir: Path | None, encoding: str) -> Caches:
        """The caches in `cache_dir` (None: in memory only) for counts in `encoding`."""
        path = cache_file(cache_dir)
        return cls(
            TokenCache(path, f"tokens:{encoding}"),
            TokenCache(path, f"secrets-scan:{scanner_version()}"),
            StatIndex(path),
            SplitCache(path, f"splits:{encoding}"),
            KnownSecrets(path, scanner_version()),
        )

    def flush(self) -> None:
        """Write what was learned; a cache that cannot be written only costs time next run."""
        self.tokens.flush()
        self.splits.flush()
        self.flush_walk()

    def flush_walk(self) -> None:
        """Write what the walk and the secret scan learned (the counting may still be going on)."""
        self.clean.flush()
        self.files.flush()
        self.found.flush()


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
    reading: Reading = Reading.EVERY_FILE,
) -> Prepared:
    """Resolve the model, walk and count the repository, and cut it into batches.

    When resuming, the saved run's batch budget is kept if it still fits (for example after a smaller
    real window was learned from the server), so the batches, and the answers saved for them, stay.
    With `redo` (an update: what to ask again besides what changed), the previous lesson's other
    chapters are reused. A plan (`Reading.CHANGED_FILES`) leaves files unchanged since they were read
    unread where it can.
    """
    # The secret scanner's worker starts first: it loads its rules while the model is resolved.
    with _background_scanner(settings) as scanning:
        return _prepare(settings, scanning, backend, git_probe, caches, resume, redo, reading)


def _background_scanner(settings: Settings) -> BackgroundScanner:
    scanner = SecretScanner(provider_scanner(settings.paths.cache_dir))
    return BackgroundScanner(scanner, enabled=settings.walk.secrets is not SecretsMode.OFF)


def _prepare(
    settings: Settings,
    scanning: BackgroundScanner,
    backend: Backend | None,
    git_probe: Callable[[Path], GitView | None],
    caches: Caches | None,
    resume: bool,
    redo: Redo | None,
    reading: Reading,
) -> Prepared:
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
    read = read_repository(settings, counter, caches, git_probe, reading, budget, scanning)
    cached = CachedCounter(counter, caches.tokens)
    load = partial(read_unread, read.scan.root, settings.walk.max_file_bytes, cached)
    # An update keeps the previous lesson's batches, so only the batches whose files changed differ.
    previous = recorded_batches(output_dir(settings)) if redo is not None else ()
    batches = cut_batches(read.parts, budget, composer, cached, load, caches.splits, previous)
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
        notes=tuple(
            n for n in (backend.notice, caches.tokens.error, caches.files.error, earlier_note(earlier)) if n
        ),
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


@cache
def provider_scanner(cache_dir: Path | None) -> ProviderScanner:
    """The provider scanner of a cache folder, one per process: loading its compiled rules costs about
    half a second of CPU, which a process making several plans (the tests do) then pays once."""
    return ProviderScanner.in_cache(cache_dir)


def read_repository(
    settings: Settings,
    counter: Counter,
    caches: Caches,
    git_probe: Callable[[Path], GitView | None] = probe_git,
    reading: Reading = Reading.EVERY_FILE,
    budget: int = 0,
    scanning: BackgroundScanner | None = None,
) -> RepoRead:
    """Walk the repository, screen each file for secrets and count it while the walk reads on (a plan
    leaves a file with secrets unread only if it takes at most half the batch `budget`: never split)."""
    mode = settings.walk.secrets

    redacted: dict[str, KnownRedaction] = {}  # by path: unread files whose secrets are known

    def reuse(file: SourceFile) -> bool:
        # A plan goes on without the text of a file it knows clean, or knows the redaction of, when the
        # text it would send is counted and its tag counts alone.
        facts, digest = file.unread, file.digest
        if mode is not SecretsMode.OFF and caches.clean.get(digest) != 0:
            known = caches.found.redaction(digest) if caches.clean.get(digest) else None
            if known is None:
                return False
            facts, digest = known.facts, known.digest
            tokens = caches.tokens.get(digest)
            if tokens is None or 2 * tokens > budget:  # it could be split: its redacted text is needed
                return False
            redacted[file.path] = known
        return (
            facts is not None
            and not tag_joins(facts.head, facts.ends_with_newline)
            and caches.tokens.get(digest) is not None
        )

    scanning = scanning or _background_scanner(settings)  # started here unless prepare started it
    sent: list[SourceFile] = []  # to the secret scanner
    with scanning, BackgroundCounter(counter, caches.tokens) as counting:  # both work as the walk reads on

        def screen(file: SourceFile) -> None:
            # Secrets are looked for in the scanner's worker process as the walk goes on; a file that
            # holds one is counted again, redacted, once the policy has been applied after the walk.
            if file.unread is not None:  # known clean or redacted, and counted
                return
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
            index=caches.files,
            reuse=reuse if reading is Reading.CHANGED_FILES else None,
        )
        findings: tuple[SecretFinding, ...] = ()
        if mode is not SecretsMode.OFF:
            scan, found, names = _secrets_found(scan, scanning, sent, caches, redacted)
            scan, findings = _screened_scan(scan, found, names, mode)
        caches.flush_walk()  # while the workers finish counting: the writes wait on the disk, not the CPU
        return RepoRead(scan, counting.parts(scan.files), findings)


def _secrets_found(
    scan: RepoScan,
    scanning: BackgroundScanner,
    sent: Sequence[SourceFile],
    caches: Caches,
    redacted: Mapping[str, KnownRedaction],
) -> tuple[RepoScan, dict[str, Redaction], PathNames]:
    """What the scanner found in the files sent to it and in every path, with what is known of unread
    files; the scanner is not asked at all when everything is known."""
    paths = [*(f.path for f in scan.files), *(s.path for s in scan.skipped)]
    names = caches.found.names(paths)
    found: dict[str, Redaction] = {}
    if sent or names is None:
        found, names = scanning.finish(paths)
        caches.clean.put_many({f.digest: len(found[f.path][1]) if f.path in found else 0 for f in sent})
        for file in sent:
            if file.path in found:
                caches.found.remember(file, found[file.path])
        caches.found.remember_names(paths, names)
    files: list[SourceFile] = []
    for file in scan.files:
        known = redacted.get(file.path) if file.unread else None
        if known is not None:
            file, found[file.path] = known.of(file)
        files.append(file)
    return replace(scan, files=tuple(files)), found, names


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
