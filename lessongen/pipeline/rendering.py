"""A lesson made before -> its renderings again, with no model."""

from __future__ import annotations

from pathlib import Path

from lessongen.config.settings import Settings
from lessongen.errors import UsageError
from lessongen.pipeline.preparing import provider_scanner
from lessongen.render.registry import render_lesson
from lessongen.render.source import Recorded, load_lesson
from lessongen.render.video.renderer import SceneProgress, Video
from lessongen.render.video.speech import DEFAULT_VOICE
from lessongen.repo.secrets import SecretScanner


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
    scanner = SecretScanner(provider_scanner(settings.paths.cache_dir))
    lesson = load_lesson(folder, settings.repo, recorded.origin, walk.secrets, walk.max_file_bytes, scanner)
    return render_lesson(lesson, settings.render.formats, folder, Video(voice, progress=progress))
