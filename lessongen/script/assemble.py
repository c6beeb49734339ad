"""The finished script: chapters in lesson order, rendered as Markdown and as schema-valid JSON."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lessongen.script.anchors import AnchorIssue
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.data import file_lines
from lessongen.shared.escaping import code_block, code_span, markdown_block, markdown_inline
from lessongen.shared.highlight import language_for

SCHEMA_VERSION = 2  # 2: anchors carry a pin (see pins.py); version 1 files, without pins, are still read
READABLE_VERSIONS = (1, SCHEMA_VERSION)


@dataclass(frozen=True)
class Script:
    """A lesson: the intro chapter first, then one chapter per batch."""

    title: str
    chapters: tuple[Chapter, ...]
    anchor_issues: tuple[AnchorIssue, ...] = ()
    uncovered: tuple[str, ...] = ()
    complete: bool = True

    @property
    def duration_seconds(self) -> float:
        """The whole lesson's estimated length; a flagged raw reply is not narrated, so it counts for none."""
        return round(sum(s.duration_seconds for c in self.chapters for s in c.scenes if not s.flagged), 1)


def _anchor_json(anchor: Anchor) -> dict[str, Any]:
    data: dict[str, Any] = {"path": anchor.path, "start_line": anchor.start_line, "end_line": anchor.end_line}
    if anchor.pin is not None:
        pin = anchor.pin
        # One string for the per-line checksums: a list would take a line each in the indented file.
        data["pin"] = {
            "lines": pin.lines,
            "before": pin.before,
            "after": pin.after,
            "each_line": " ".join(pin.each_line),
        }
    return data


def _scene_json(scene: Scene) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": scene.id,
        "title": scene.title,
        "narration": scene.narration,
        "anchors": [_anchor_json(a) for a in scene.anchors],
        "files": list(scene.files),
        "visual_notes": scene.visual_notes,
        "duration_seconds": scene.duration_seconds,
    }
    if scene.flagged:
        data["flagged"] = scene.flagged
    if scene.measured_seconds is not None:
        data["measured_seconds"] = scene.measured_seconds
    return data


def script_json(script: Script) -> dict[str, Any]:
    """The script as JSON data, valid against script.schema.json."""
    return {
        "schema_version": SCHEMA_VERSION,
        "title": script.title,
        "complete": script.complete,
        "duration_seconds": script.duration_seconds,
        "chapters": [
            {"title": c.title, "source": c.source, "scenes": [_scene_json(s) for s in c.scenes]}
            for c in script.chapters
        ],
        "anchor_issues": [
            {
                "chapter": i.chapter,
                "scene": i.scene,
                "path": i.path,
                "problem": i.problem,
                "repaired": i.repaired,
            }
            for i in script.anchor_issues
        ],
        "uncovered_files": list(script.uncovered),
    }


def _excerpt(lines: Sequence[str], start: int, end: int) -> str:
    return "\n".join(lines[start - 1 : end])


def minutes(seconds: float) -> str:
    """A length as m:ss."""
    whole, rest = divmod(round(seconds), 60)
    return f"{whole}:{rest:02d}"


def chapter_headings(chapters: Sequence[Chapter]) -> tuple[str, ...]:
    """How each chapter is named in every format: 'Introduction' for the intro, else 'Chapter N' from 1."""
    headings: list[str] = []
    for chapter in chapters:
        intro = chapter.batch == 0 and chapter.source == "intro"
        headings.append(
            "Introduction" if intro else f"Chapter {sum(h != 'Introduction' for h in headings) + 1}"
        )
    return tuple(headings)


def heading_line(heading: str, title: str) -> str:
    """'Chapter 2: Parsing', or only the heading when the title repeats it ('Introduction')."""
    flat = " ".join(title.split())
    return heading if flat.casefold() in ("", heading.casefold()) else f"{heading}: {flat}"


def _scene_markdown(scene: Scene, split: Mapping[str, list[str]]) -> list[str]:
    """One scene; every piece of model text is neutralised (see shared/escaping.py)."""
    out = [
        f"### {markdown_inline(scene.title)}",
        "",
        f"*Scene {code_span(scene.id)}, "
        + (
            "not narrated: counts for no time*"
            if scene.flagged
            else f"about {minutes(scene.duration_seconds)}*"
        ),
        "",
    ]
    if scene.flagged:
        out += [f"> **Flagged:** {markdown_inline(scene.flagged)}. The model's raw reply is kept below.", ""]
        out += [code_block(scene.narration, "text"), ""]
    else:
        out += [markdown_block(scene.narration), ""]
    for anchor in scene.anchors:
        code = _excerpt(split.get(anchor.path, []), anchor.start_line, anchor.end_line)
        out += [
            f"{code_span(anchor.path)} lines {anchor.start_line}-{anchor.end_line}:",
            "",
            code_block(code, language_for(anchor.path)),
            "",
        ]
    if scene.visual_notes:
        out += [f"**On screen:** {markdown_inline(scene.visual_notes)}", ""]
    return out


def script_markdown(script: Script, sources: Mapping[str, str]) -> str:
    """The script for people: chapters, scenes, narration and the code of every anchor."""
    split = {path: file_lines(text) for path, text in sources.items()}
    out = [
        f"# {markdown_inline(script.title)}",
        "",
        f"Estimated length: {minutes(script.duration_seconds)}",
        "",
    ]
    if not script.complete:
        out += ["> **Incomplete:** the run stopped early; resume it to finish the lesson.", ""]
    for heading, chapter in zip(chapter_headings(script.chapters), script.chapters, strict=True):
        out += [f"## {markdown_inline(heading_line(heading, chapter.title))}", ""]
        for scene in chapter.scenes:
            out += _scene_markdown(scene, split)
    if script.anchor_issues:
        out += ["## Anchor report", ""]
        out += [
            f"- {markdown_inline(i.chapter)} / {markdown_inline(i.scene)}: {code_span(i.path)}: "
            f"{markdown_inline(i.problem)}" + (" (repaired)" if i.repaired else " (dropped)")
            for i in script.anchor_issues
        ]
        out.append("")
    if script.uncovered:
        out += (
            ["## Files no scene covers" if script.complete else "## Files not yet covered", ""]
            + [f"- {code_span(p)}" for p in script.uncovered]
            + [""]
        )
    return "\n".join(out)
