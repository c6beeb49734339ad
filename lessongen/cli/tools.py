"""`models` and `render`: the commands that write no lesson (they list models, or render one made before)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lessongen.cli.common import guard, settings_for
from lessongen.cli.options import BaseUrl, CacheDir, Config, Formats, LessonRepo, Refresh, Secrets
from lessongen.config.flags import Flags
from lessongen.render.video.speech import DEFAULT_VOICE


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
        # imported when the command runs, so --help and usage errors stay quick
        from lessongen.models.backend import available_models
        from lessongen.ui.reports import render_models
        from lessongen.ui.terminal import make_console

        settings = settings_for(repo, config, flags)
        render_models(make_console(), available_models(settings), settings.model.base_url)

    guard(go)


def render(
    lesson: Annotated[
        Path, typer.Argument(help="The lesson folder lessongen run wrote (default lesson/).")
    ] = Path("lesson"),
    formats: Formats = None,
    repo: LessonRepo = None,
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
        from lessongen.pipeline import render_existing
        from lessongen.render.source import recorded_repository
        from lessongen.ui.live import SceneBar
        from lessongen.ui.reports import render_written
        from lessongen.ui.terminal import make_console

        recorded = recorded_repository(lesson)
        root = repo or recorded.root or Path(".")
        settings = settings_for(root, config, Flags(render_formats=formats, secrets=secrets))
        bar = SceneBar(make_console(stderr=True))
        try:
            written = render_existing(lesson, settings, recorded, voice, progress=bar)
        finally:
            bar.close()
        render_written(make_console(), written)

    guard(go)
