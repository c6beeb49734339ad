"""lessongen render and the renders at the end of a run: files, tours against CodeTour's schema, captions."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import markupsafe
import pytest
import srt
import webvtt
from lessons import HOSTILE, HOSTILE_LINE, cli, git_commit, make_lesson, script_of

from lessongen.render.base import Lesson
from lessongen.render.formats import Format
from lessongen.render.registry import RENDERERS
from lessongen.render.tour import CodeTours
from lessongen.script.assemble import Script
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.data import GitOrigin

CODETOUR_SCHEMA = json.loads((Path(__file__).parent / "data" / "codetour.schema.json").read_text())
RENDERED = {
    "site": ["index.html", "lesson.css", "lesson.js"],
    "captions": ["chapters.vtt", "lesson.srt", "lesson.vtt"],
}


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """A git repository, the lesson a real run wrote of it (hostile text, bad anchors, a flagged scene)."""
    root = tmp_path_factory.mktemp("made")
    repo, out, code = make_lesson(root)
    assert code == 0
    commit = json.loads((out / "run.json").read_text())["repository"]["commit"]
    return repo, out, commit


def files_under(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def rendered(out: Path) -> dict[str, bytes]:
    return {k: v for k, v in files_under(out).items() if k.split("/")[0] in {"site", ".tours", "captions"}}


def tours(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted((out / ".tours").glob("*.tour"))]


def scenes(script: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for c in script["chapters"] for s in c["scenes"]]


def test_a_run_renders_every_format_and_render_rewrites_the_same_bytes(
    made: tuple[Path, Path, str], tmp_path: Path
) -> None:
    _, out, _ = made
    first = rendered(out)
    for folder, names in RENDERED.items():
        assert sorted(k.split("/", 1)[1] for k in first if k.startswith(folder + "/")) == names
    chapters = len(script_of(out)["chapters"])
    assert len([k for k in first if k.startswith(".tours/")]) == chapters
    # A copy of the lesson folder alone renders the same files: the script, the record and the repository.
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("script.json", "run.json"):
        (copy / name).write_bytes((out / name).read_bytes())
    code, stdout, stderr = cli(["render", str(copy)], tmp_path / "cache")
    assert code == 0, stderr
    assert rendered(copy) == first
    assert stdout.count("wrote ") == len(first)


def test_render_takes_formats_and_leaves_other_files_alone(
    made: tuple[Path, Path, str], tmp_path: Path
) -> None:
    repo, out, _ = made
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "script.json").write_bytes((out / "script.json").read_bytes())
    (copy / "notes.txt").write_text("mine\n")
    (copy / ".tours").mkdir()
    (copy / ".tours" / "99-chapter.tour").write_text("{}")  # a tour an earlier, longer lesson left
    code, _, stderr = cli(["render", str(copy), "--formats", "tour,vtt", "--repo", str(repo)], tmp_path / "c")
    assert code == 0, stderr
    names = set(files_under(copy))
    assert "site/index.html" not in names and "captions/lesson.vtt" in names
    assert "notes.txt" in names and ".tours/99-chapter.tour" not in names


def test_tours_follow_codetour_schema_and_the_anchors(made: tuple[Path, Path, str]) -> None:
    repo, out, commit = made
    script = script_of(out)
    found = tours(out)
    validator = jsonschema.Draft4Validator(CODETOUR_SCHEMA)
    for tour in found:
        validator.validate(tour)
        assert tour["ref"] == commit
    assert [t.get("isPrimary", False) for t in found] == [True] + [False] * (len(found) - 1)
    assert [t.get("nextTour") for t in found] == [t["title"] for t in found[1:]] + [None]
    assert len({t["title"] for t in found}) == len(found)
    steps = [step for tour in found for step in tour["steps"]]
    assert len(steps) == len(scenes(script))
    for step, scene in zip(steps, scenes(script), strict=True):
        assert step["title"] == scene["title"]
        if not scene["anchors"]:
            assert "selection" not in step
            continue
        anchor = scene["anchors"][0]
        assert step["file"] == anchor["path"] and (repo / step["file"]).is_file()
        lines = (repo / anchor["path"]).read_text().split("\n")
        assert step["selection"] == {
            "start": {"line": anchor["start_line"], "character": 1},
            "end": {"line": anchor["end_line"], "character": len(lines[anchor["end_line"] - 1]) + 1},
        }


def test_tour_descriptions_are_inert_markdown(made: tuple[Path, Path, str]) -> None:
    _, out, _ = made
    descriptions = "\n".join(step["description"] for tour in tours(out) for step in tour["steps"])
    assert "\\[run it\\](command:workbench" in descriptions
    # No unescaped link, HTML tag or icon syntax is left.
    assert not re.search(r"(?<!\\)\]\(|(?<!\\)<|(?<!\\)\$\(", descriptions)
    assert not re.search(r"^>>", descriptions, re.MULTILINE)
    assert "\\>\\> rm -rf \\~" in descriptions
    assert "**On screen:**" in descriptions  # lessongen's own Markdown stays


def test_tours_name_files_from_the_work_tree_top() -> None:
    scene = Scene("s1", "Title", "Words.", anchors=(Anchor("pkg/a.py", 2, 3),))
    lesson = Lesson(
        Script("t", (Chapter("c", (scene,), "batch 1"),)),
        {"pkg/a.py": "a\nbb\nccc\n"},
        GitOrigin("abc", "sub/"),
    )
    (tour,) = CodeTours().render(lesson)
    step = json.loads(tour.text)["steps"][0]
    assert step["file"] == "sub/pkg/a.py"
    assert step["selection"]["end"] == {"line": 3, "character": 4}


def seconds(stamp: timedelta) -> float:
    return stamp.total_seconds()


def words(text: str) -> list[str]:
    return " ".join(text.split()).split()


def test_captions_parse_back_timed_by_scene(made: tuple[Path, Path, str]) -> None:
    _, out, _ = made
    script = script_of(out)
    vtt = webvtt.read(str(out / "captions" / "lesson.vtt"))
    subs = list(srt.parse((out / "captions" / "lesson.srt").read_text()))
    assert len(vtt) == len(subs) > len(scenes(script))
    starts = [round(c.start_in_seconds + c.start_time.milliseconds / 1000, 3) for c in vtt]
    ends = [round(c.end_in_seconds + c.end_time.milliseconds / 1000, 3) for c in vtt]
    assert starts[0] == 0 and starts[1:] == ends[:-1]  # back to back, no gap, no overlap
    assert all(end > start for start, end in zip(starts, ends, strict=True))
    assert [seconds(s.start) for s in subs] == starts and [seconds(s.end) for s in subs] == ends
    # Every scene ends on a cue boundary, at the sum of the durations script.json gives.
    clock, boundaries = 0.0, []
    for scene in scenes(script):
        clock = round(clock + scene["duration_seconds"], 3)
        boundaries.append(clock)
    notices = sum(s["duration_seconds"] for s in scenes(script) if "flagged" in s)  # not in the length
    assert set(boundaries) <= set(ends)
    assert ends[-1] == pytest.approx(script["duration_seconds"] + notices, abs=0.05)
    expected = [
        w
        for s in scenes(script)
        for w in words(f"(Scene flagged: {s['flagged']})" if "flagged" in s else s["narration"])
    ]
    assert [w for c in vtt for w in words(html.unescape(c.text))] == expected
    assert [w for s in subs for w in words(s.content.replace("‹", "<").replace("›", ">"))] == expected


def test_chapter_track_spans_each_chapter(made: tuple[Path, Path, str]) -> None:
    _, out, _ = made
    script = script_of(out)
    chapters = webvtt.read(str(out / "captions" / "chapters.vtt"))
    assert len(chapters) == len(script["chapters"])
    assert chapters[0].text.split(":")[0] == "Introduction"
    clock = 0.0
    for cue, chapter in zip(chapters, script["chapters"], strict=True):
        assert cue.start_in_seconds == int(clock)
        clock += sum(s["duration_seconds"] for s in chapter["scenes"])
        assert html.unescape(cue.text).endswith(" ".join(chapter["title"].split()))


def test_model_text_is_escaped_in_the_page_and_the_captions(made: tuple[Path, Path, str]) -> None:
    _, out, _ = made
    page = (out / "site" / "index.html").read_text()
    assert re.findall(r"<script\b[^>]*>", page) == [
        '<script src="lesson.js" defer>',
        '<script type="application/json" id="lesson-data">',
    ]
    assert HOSTILE not in page and str(markupsafe.escape(HOSTILE)) in page
    data = page.split('id="lesson-data">', 1)[1].split("</script>", 1)[0]
    assert "<" not in data and json.loads(data)["scenes"]
    vtt = (out / "captions" / "lesson.vtt").read_text()
    assert "<script" not in vtt and vtt.count("-->") == len(webvtt.read(str(out / "captions" / "lesson.vtt")))
    assert "<" not in (out / "captions" / "lesson.srt").read_text()
    assert HOSTILE_LINE.replace(">", "&gt;") in vtt


def test_the_page_shows_flagged_scenes_anchor_issues_and_line_numbers(made: tuple[Path, Path, str]) -> None:
    _, out, _ = made
    page = (out / "site" / "index.html").read_text()
    script = script_of(out)
    assert page.count('class="scene flagged"') == sum(1 for s in scenes(script) if "flagged" in s) == 1
    assert 'id="anchor-report"' in page and "no such file among the files sent" in page
    assert page.count("Anchor issue:") == len(script["anchor_issues"])
    assert 'id="incomplete"' not in page
    assert 'data-line="1"><span class="ln" aria-hidden="true">1</span>' in page
    assert "https://" not in page.split("<body>", 1)[0].replace("https://aka.ms", "")  # no CDN


def test_an_incomplete_lesson_says_so(tmp_path: Path) -> None:
    _, out, code = make_lesson(tmp_path, None, "--max-calls", "3", git=False)
    assert code == 4
    page = (out / "site" / "index.html").read_text()
    assert 'id="incomplete"' in page
    assert json.loads((out / "run.json").read_text())["repository"]["commit"] is None
    assert all("ref" not in tour for tour in tours(out))


def test_render_formats_setting_steers_the_run(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "lessongen.toml").write_text('render_formats = ["vtt"]\n')
    _, out, _ = make_lesson(tmp_path, None, "--config", str(repo / "lessongen.toml"), git=False)
    assert {k.split("/")[0] for k in rendered(out)} == {"captions"}


def test_run_formats_flag_wins_over_the_setting(tmp_path: Path) -> None:
    _, out, _ = make_lesson(tmp_path, None, "--formats", "html", git=False)
    assert {k.split("/")[0] for k in rendered(out)} == {"site"}


def test_redacted_secrets_stay_redacted_in_a_render(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    key = "AKIA" + "Z7Q2" * 4  # built at run time
    (repo / "pkg" / "conf.py").write_text(f'AWS_KEY = "{key}"\n\n\ndef region() -> str:\n    return "x"\n')
    git_commit(repo)
    out = tmp_path / "lesson"
    (out).mkdir()
    scene = {
        "id": "s",
        "title": "t",
        "narration": "n",
        "files": [],
        "visual_notes": "",
        "duration_seconds": 5,
    }
    scene["anchors"] = [{"path": "pkg/conf.py", "start_line": 1, "end_line": 2}]
    script = {"schema_version": 1, "title": "t", "complete": True, "duration_seconds": 5, "anchor_issues": []}
    script |= {"chapters": [{"title": "c", "source": "batch 1", "scenes": [scene]}], "uncovered_files": []}
    (out / "script.json").write_text(json.dumps(script))
    code, _, stderr = cli(["render", str(out), "--repo", str(repo)], tmp_path / "cache")
    assert code == 0, stderr
    text = "".join(p.read_text() for p in out.rglob("*.*") if p.suffix in {".html", ".tour"})
    assert key not in text and "REDACTED" in text


@pytest.mark.parametrize(
    ("setup", "args", "code", "message"),
    [
        ("none", [], 2, "no lesson in"),
        ("damaged", [], 2, "is not a lessongen script"),
        ("truncated", [], 2, "cannot read"),
        ("good", ["--formats", "pdf"], 2, "unknown format 'pdf'"),
        ("good", ["--formats", "none"], 2, "no format to render"),
        ("symlink", [], 6, "leads outside"),
    ],
)
def test_render_errors_are_one_line(
    made: tuple[Path, Path, str], tmp_path: Path, setup: str, args: list[str], code: int, message: str
) -> None:
    repo, out, _ = made
    lesson = tmp_path / "lesson"
    lesson.mkdir()
    if setup in {"good", "symlink"}:
        (lesson / "script.json").write_bytes((out / "script.json").read_bytes())
    if setup == "symlink":
        (tmp_path / "elsewhere").mkdir()
        (lesson / "site").symlink_to(tmp_path / "elsewhere")
    if setup == "damaged":
        (lesson / "script.json").write_text('{"schema_version": 1, "title": "t"}')
    if setup == "truncated":
        (lesson / "script.json").write_text('{"schema_version": 1, "ti')
    got, _, stderr = cli(["render", str(lesson), "--repo", str(repo), *args], tmp_path / "cache")
    assert got == code, stderr
    assert message in stderr and "Traceback" not in stderr
    assert len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "elsewhere").exists() or not any((tmp_path / "elsewhere").iterdir())


def test_every_format_has_a_renderer_and_its_own_folder() -> None:
    folders = [r.folder for r in RENDERERS.values()]
    assert len(set(folders)) == len(folders) == 3


def test_controls_and_bidi_overrides_show_as_escapes_in_every_format() -> None:
    hidden = "admin\u202e gnirts\x1b[31m"
    code = f'access = "user"  # {hidden}\nok = 1\n'
    scene = Scene("s1", f"Title {hidden}", f"Words {hidden}.", (Anchor("a.py", 1, 1),), visual_notes=hidden)
    lesson = Lesson(Script(f"t {hidden}", (Chapter(f"c {hidden}", (scene,), "batch 1"),)), {"a.py": code})
    for renderer in RENDERERS.values():
        for file in renderer.render(lesson):
            assert "\u202e" not in file.text and "\x1b" not in file.text, file.name
    page = next(f.text for f in RENDERERS[Format.HTML].render(lesson) if f.name == "index.html")
    assert page.count("\\u202e") >= 5  # title, chapter, scene title, narration, notes, the code
