"""`lessongen check`: a lesson on disk against today's repository, and `--fix` rewriting its files; no model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lessongen.config.settings import Settings
from lessongen.render.base import Lesson
from lessongen.render.formats import Format
from lessongen.render.registry import RENDERERS, render_lesson
from lessongen.render.source import read_repository_file, read_script, read_sources
from lessongen.render.video.renderer import Video
from lessongen.repo.secret_scanner import ProviderScanner
from lessongen.repo.secrets import SecretScanner, SecretsMode, apply_secrets_policy
from lessongen.repo.walk import scan_repository
from lessongen.script.assemble import Script, script_json, script_markdown
from lessongen.script.check import CheckReport, check_script, relocated
from lessongen.script.locate import FileLines
from lessongen.shared.data import GitOrigin
from lessongen.shared.layout import VIDEO_DIR
from lessongen.shared.storage import write_atomic, write_json


@dataclass(frozen=True)
class CheckOutcome:
    """What `check` found, and what `--fix` wrote (nothing without it, or with nothing moved)."""

    folder: Path
    repository: Path
    report: CheckReport
    written: tuple[Path, ...] = ()


class _Repository:
    """The repository's files as the run would send them: each read once, redacted or walked only on demand."""

    def __init__(self, root: Path, settings: Settings, lesson: Path) -> None:
        self.root, self.settings, self.lesson = root, settings, lesson
        self._scanner: SecretScanner | None = None

    @property
    def scanner(self) -> SecretScanner:
        """The secret scanner, built the first time a file needs it (most checks never do)."""
        if self._scanner is None:
            self._scanner = SecretScanner(ProviderScanner.in_cache(self.settings.paths.cache_dir))
        return self._scanner

    def read(self, path: str, redacted: bool) -> FileLines | None:
        """One file's lines; redacted as the run redacts, or None when the run would leave it out."""
        walk = self.settings.walk
        found = read_repository_file(self.root, path, walk.max_file_bytes)
        if found is None:
            return None
        if redacted and walk.secrets is not SecretsMode.OFF:
            kept = apply_secrets_policy([found], SecretsMode.REDACT, self.scanner).files
            return FileLines.of(path, kept[0].text) if kept else None
        return FileLines.of(path, found.text)

    def every_file(self) -> dict[str, FileLines]:
        """Every file the run would read (for anchors whose lines left their file): one walk."""
        walk = self.settings.walk
        scan = scan_repository(
            self.root, walk.include, walk.exclude, walk.max_file_bytes, skip_dirs=(self.lesson,)
        )
        return {f.path: FileLines.of(f.path, f.text) for f in scan.files}


def rendered_formats(folder: Path) -> tuple[Format, ...]:
    """The formats the lesson folder holds a rendering of: what --fix renders again."""
    found = [fmt for fmt, renderer in RENDERERS.items() if (folder / renderer.folder).is_dir()]
    if (folder / VIDEO_DIR / "lesson.mp4").is_file():
        found.append(Format.MP4)
    return tuple(found)


def _write_fixed(
    folder: Path, script: Script, repo: _Repository, origin: GitOrigin | None
) -> tuple[Path, ...]:
    """The relocated lesson written: renderings and script.md first, script.json (what check reads) last.

    Each file is replaced atomically, and a fix that stops half-way leaves script.json as it was, so the
    next check reports the same moves and a second --fix finishes the job.
    """
    walk = repo.settings.walk
    paths = [a.path for c in script.chapters for s in c.scenes for a in s.anchors]
    sources = read_sources(repo.root, paths, walk.secrets, walk.max_file_bytes, repo.scanner)
    lesson = Lesson(script, sources, origin, folder)
    formats = rendered_formats(folder)
    written = list(render_lesson(lesson, [f for f in formats if f is not Format.MP4], folder))
    if Format.MP4 in formats:
        written += render_lesson(lesson, [Format.MP4], folder, Video())
    write_atomic(folder / "script.md", script_markdown(script, sources))
    write_json(folder / "script.json", script_json(script))
    return (*written, folder / "script.md", folder / "script.json")


def check_lesson(folder: Path, settings: Settings, origin: GitOrigin | None, fix: bool) -> CheckOutcome:
    """Every anchor of the lesson in `folder` checked against the repository `settings.repo`."""
    script = read_script(folder)
    root = settings.repo
    repo = _Repository(root, settings, folder)
    report = check_script(script, repo.read, repo.every_file)
    if not fix or not report.fixable:
        return CheckOutcome(folder, root, report)
    written = _write_fixed(folder, relocated(script, report), repo, origin)
    return CheckOutcome(folder, root, report, written)
