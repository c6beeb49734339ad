"""The family of renderers by format, and writing their files inside the lesson folder only."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from lessongen.errors import OutputError
from lessongen.render.base import Lesson, Renderer
from lessongen.render.captions import Captions
from lessongen.render.formats import Format
from lessongen.render.tour import CodeTours
from lessongen.render.video.renderer import Video
from lessongen.render.web import WebLesson
from lessongen.script.assemble import script_json
from lessongen.shared.storage import write_atomic, write_json

# A new format is one more module and one more entry here; the video (its voice chosen per render) is passed in.
RENDERERS: Mapping[Format, Renderer] = {r.format: r for r in (WebLesson(), CodeTours(), Captions())}


def _inside(folder: Path, path: Path) -> Path:
    """The path, refused when it (or a symlinked folder on the way) leads out of the lesson folder."""
    if not path.resolve().is_relative_to(folder.resolve()):
        raise OutputError(f"{path} leads outside {folder}", "remove the symlink in the lesson folder")
    return path


def render_lesson(
    lesson: Lesson, formats: Iterable[Format], folder: Path, video: Video | None = None
) -> tuple[Path, ...]:
    """Render each format into its own folder under `folder`; the paths written, in order."""
    formats = tuple(formats)
    video = video or Video()
    written: list[Path] = []
    if Format.MP4 in formats:
        # The spoken lengths are measured first, so the captions and the page play in time with the voice.
        lesson = video.measure(lesson)
        write_json(_inside(folder, folder / "script.json"), script_json(lesson.script))
        written.append(folder / "script.json")
    for fmt in formats:
        renderer = video if fmt is Format.MP4 else RENDERERS[fmt]
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
