"""The web lesson: site/index.html with its stylesheet and script, offline, no CDN, every model text escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from lessongen.render.base import Lesson, RenderedFile, Slot, timeline
from lessongen.render.formats import Format
from lessongen.script.anchors import AnchorIssue
from lessongen.script.assemble import minutes
from lessongen.script.scenes import Anchor
from lessongen.shared.data import file_lines
from lessongen.shared.escaping import escape_controls
from lessongen.shared.highlight import CSS_CLASS, highlight_window, token_css
from lessongen.shared.layout import SITE_DIR

CONTEXT_LINES = 3  # lines shown around an anchor so the highlighted lines have their surroundings


@dataclass(frozen=True)
class CodeLine:
    """One numbered line of a code block, as highlighted HTML."""

    number: int
    html: Markup
    anchored: bool


@dataclass(frozen=True)
class CodeBlock:
    """The code an anchor points at, with context; `missing` says why it cannot be shown."""

    anchor: Anchor
    lines: tuple[CodeLine, ...]
    language_class: str
    missing: str = ""


@dataclass(frozen=True)
class SceneView:
    """A scene as the page shows it."""

    slot: Slot
    dom_id: str
    paragraphs: tuple[str, ...]
    blocks: tuple[CodeBlock, ...]
    issues: tuple[AnchorIssue, ...]


def _visible(value: object) -> object:
    """Every value the page prints, with control and invisible formatting characters shown as escapes."""
    if isinstance(value, Markup):  # highlighted code: repository text, where a bidi override can hide code
        return Markup(escape_controls(str(value)))  # the escapes are plain ASCII letters and digits
    return escape_controls(value) if isinstance(value, str) else value


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("lessongen.render", "templates"),
        autoescape=True,  # every {{ value }} is HTML-escaped unless it is already Markup
        finalize=_visible,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _asset(name: str) -> str:
    return resources.files("lessongen.render").joinpath("assets", name).read_text("utf-8")


class _Code:
    """The code blocks of anchors; each file is split into lines once however many anchors it has."""

    def __init__(self, sources: Mapping[str, str]) -> None:
        self.sources = sources
        self.lines: dict[str, list[str]] = {}

    def block(self, anchor: Anchor) -> CodeBlock:
        text = self.sources.get(anchor.path)
        if text is None:
            return CodeBlock(anchor, (), CSS_CLASS, "the file is not in the repository (or cannot be read)")
        if anchor.path not in self.lines:
            self.lines[anchor.path] = file_lines(text)
        lines = self.lines[anchor.path]
        if anchor.start_line > len(lines):
            return CodeBlock(anchor, (), CSS_CLASS, f"the file has {len(lines)} lines now")
        shown = anchor.excerpt(CONTEXT_LINES, len(lines))
        marked = highlight_window(anchor.path, lines, shown.start, shown.stop - 1)
        code = tuple(
            CodeLine(n, Markup(html), anchor.covers(n))  # Pygments escaped it
            for n, html in zip(shown, marked, strict=True)
        )
        short = f"the file has {len(lines)} lines now" if anchor.end_line > len(lines) else ""
        return CodeBlock(anchor, code, CSS_CLASS, short)


def _paragraphs(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip())


def _views(slots: Sequence[Slot], lesson: Lesson) -> list[SceneView]:
    code = _Code(lesson.sources)
    issues: dict[tuple[str, str], list[AnchorIssue]] = {}
    for issue in lesson.script.anchor_issues:
        issues.setdefault((issue.chapter, issue.scene), []).append(issue)
    return [
        SceneView(
            slot,
            f"scene-{slot.number}",
            _paragraphs(slot.scene.narration),
            tuple(code.block(a) for a in slot.scene.anchors),
            tuple(issues.get((slot.chapter.source, slot.scene.id), ())),
        )
        for slot in slots
    ]


def page(lesson: Lesson) -> str:
    """index.html of the lesson."""
    slots = timeline(lesson.script)
    views = _views(slots, lesson)
    chapters: list[dict[str, Any]] = []
    for view in views:
        slot = view.slot
        if not chapters or chapters[-1]["number"] != slot.chapter_number:
            chapters.append(
                {
                    "number": slot.chapter_number,
                    "heading": slot.heading,
                    "chapter": slot.chapter,
                    "scenes": [],
                }
            )
        chapters[-1]["scenes"].append(view)
    for chapter in chapters:
        chapter["duration"] = sum(v.slot.scene.duration_seconds for v in chapter["scenes"])
    # The presenter reads the timeline from inert JSON (tojson escapes <, > and &), never from code.
    data = {
        "scenes": [
            {
                "id": v.dom_id,
                "chapter": f"ch-{v.slot.chapter_number}",
                "start": v.slot.start,
                "end": v.slot.end,
            }
            for v in views
        ],
        "duration": slots[-1].end if slots else 0,
    }
    template = _environment().get_template("lesson.html.j2")
    return template.render(
        script=lesson.script, chapters=chapters, data=data, minutes=minutes, scene_count=len(views)
    )


class WebLesson:
    """The lesson as a static site under site/."""

    format = Format.HTML
    folder = SITE_DIR
    stale = ""

    def render(self, lesson: Lesson) -> tuple[RenderedFile, ...]:
        """index.html, lesson.css and lesson.js."""
        css = (
            _asset("lesson.css")
            + "\n/* Syntax highlighting: Pygments' default style */\n"
            + token_css()
            + "\n"
        )
        return (
            RenderedFile("index.html", page(lesson)),
            RenderedFile("lesson.css", css),
            RenderedFile("lesson.js", _asset("lesson.js")),
        )
