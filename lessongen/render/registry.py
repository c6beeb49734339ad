"""The family of renderers by format, and writing their files inside the lesson folder only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from lessongen.errors import OutputError
from lessongen.render.base import Lesson, Renderer
from lessongen.render.captions import Captions
from lessongen.render.formats import Format
from lessongen.render.tour import CodeTours
from lessongen.render.web import WebLesson
from lessongen.shared.storage import write_atomic

# A new format (the narrated video) is one more module and one more entry here.
RENDERERS: Mapping[Format, Renderer] = {r.format: r for r in (WebLesson(), CodeTours(), Captions())}


def _inside(folder: Path, path: Path) -> Path:
    """The path, refused when it (or a symlinked folder on the way) leads out of the lesson folder."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise OutputError(f"{path} leads outside {folder}", "remove the symlink in the lesson folder")
    return path


def render_lesson(lesson: Lesson, formats: Iterable[Format], folder: Path) -> tuple[Path, ...]:
    """Render each format into its own folder under `folder`; the paths written, in order."""
    written: list[Path] = []
    for fmt in formats:
        renderer = RENDERERS[fmt]
        target = _inside(folder, folder / renderer.folder)
        files = renderer.render(lesson)
        names = {f.name for f in files}
        if renderer.stale and target.is_dir():
            for old in target.glob(renderer.stale):  # e.g. the tours of chapters a rerun no longer has
                if old.name not in names and old.is_file():
                    _inside(folder, old).unlink()
        for file in files:
            path = _inside(folder, target / file.name)
            write_atomic(path, file.text)
            written.append(path)
    return tuple(written)
