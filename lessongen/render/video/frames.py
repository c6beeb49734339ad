"""Drawing a page as a PNG frame with Pillow, in the monospace font a package ships. The only module importing PIL."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path
from typing import Any

from lessongen.render.video.pages import Page

WIDTH, HEIGHT = 1280, 720
_BACKGROUND = (24, 26, 33)
_TEXT = (222, 226, 232)
_MUTED = (130, 138, 150)
_ACCENT = (120, 180, 255)
_HIGHLIGHT = (52, 60, 84)
_MARGIN = 48
_CODE_SIZE = 24
_LINE_HEIGHT = 32


def font_file() -> Path:
    """Fira Code, from the fontpkg-fira-code package (nothing is looked up on the system or downloaded)."""
    import fontpkg_fira_code

    return next((Path(fontpkg_fira_code.ROOT) / "files").glob("*.ttf"))


@cache
def _font(size: int) -> Any:
    from PIL import ImageFont

    return ImageFont.truetype(str(font_file()), size)


def draw(page: Page) -> bytes:
    """The page as a 1280x720 PNG: heading, title, source, then numbered code with anchored lines highlighted."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    pen = ImageDraw.Draw(image)
    pen.text((_MARGIN, 28), page.heading, font=_font(20), fill=_MUTED)
    pen.text((_MARGIN, 56), page.title[:70], font=_font(34), fill=_TEXT)
    pen.text((_MARGIN, 104), page.source[:100], font=_font(20), fill=_ACCENT)
    top = 150
    width = len(str(page.lines[-1].number)) if page.lines else 1
    for row, line in enumerate(page.lines):
        y = top + row * _LINE_HEIGHT
        if line.anchored:
            pen.rectangle((_MARGIN - 12, y - 4, WIDTH - _MARGIN + 12, y + _LINE_HEIGHT - 4), fill=_HIGHLIGHT)
        pen.text((_MARGIN, y), str(line.number).rjust(width), font=_font(_CODE_SIZE), fill=_MUTED)
        colour = _TEXT if line.anchored else _MUTED
        pen.text((_MARGIN + (width + 2) * 15, y), line.text, font=_font(_CODE_SIZE), fill=colour)
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=1)  # fast: frames are cached, and ffmpeg reads them once
    return out.getvalue()
