"""The web lesson in a real headless browser: Debian's chromium driven by Playwright, from file://."""

from __future__ import annotations

import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from lessons import cli, make_lesson, script_of

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
# A quiet, offline browser: nothing starts that would reach the network or a profile.
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.slow  # a real browser: several seconds


@pytest.fixture(scope="module")
def browser() -> Iterator[BrowserContext]:
    """Chromium with a fresh profile; the tests skip, saying why, when it or Playwright is missing."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed (pip install -e '.[dev]')"
    )
    if not CHROMIUM.exists():
        pytest.skip(
            "Debian's chromium is not installed (apt-get install -y chromium chromium-driver; .ci/run does it)"
        )
    profile = tempfile.mkdtemp(prefix="lessongen-chromium-")
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=ARGS,
            viewport={"width": 1200, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def lesson(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A lesson a real run wrote: hostile model text, repaired and dropped anchors, a flagged scene."""
    _, out, code = make_lesson(tmp_path_factory.mktemp("browser"))
    assert code == 0
    return out


class Opened:
    """A page of the lesson with everything it logged and asked for."""

    def __init__(self, context: BrowserContext, index: Path) -> None:
        self.page: Page = context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.goto(index.as_uri())
        self.page.wait_for_function("!document.getElementById('controls').hidden")

    def active(self) -> str:
        return str(self.page.evaluate("document.activeElement.id"))

    def shown_scenes(self) -> list[str]:
        return [
            el.get_attribute("id") or "" for el in self.page.locator("article.scene").all() if el.is_visible()
        ]


@pytest.fixture
def opened(browser: BrowserContext, lesson: Path) -> Iterator[Opened]:
    page = Opened(browser, lesson / "site" / "index.html")
    yield page
    page.page.close()


def all_scenes(script: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for c in script["chapters"] for s in c["scenes"]]


def test_the_page_loads_offline_without_errors_and_is_not_blank(opened: Opened) -> None:
    from PIL import Image

    page = opened.page
    assert opened.errors == []
    assert all(url.startswith("file://") for url in opened.requests), opened.requests
    assert page.locator("main h2").first.inner_text().startswith("Introduction")
    shot = Image.open(io.BytesIO(page.screenshot(full_page=False))).convert("RGB")
    colours = shot.getcolors(maxcolors=1 << 20) or []
    most = max(count for count, _ in colours)
    assert len(colours) > 50 and most < 0.95 * shot.width * shot.height  # text and code, not one flat colour


def test_injected_script_in_narration_does_not_run(opened: Opened) -> None:
    page = opened.page
    assert page.evaluate("typeof window.__pwned") == "undefined"
    shown = page.locator(".narration", has_text="<script>window.__pwned = 1</script>").first
    assert shown.is_visible()  # shown as text
    assert page.locator("main script, main img").count() == 0


def test_chapter_links_and_keys_navigate_with_the_keyboard(opened: Opened) -> None:
    page = opened.page
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == "#ch-1":
            break
    else:
        pytest.fail("Tab never reached the link to chapter 1")
    page.keyboard.press("Enter")
    page.wait_for_function("document.activeElement.id === 'ch-1'")
    assert page.evaluate("location.hash") == "#ch-1"
    assert page.locator("#ch-1-title").is_visible()
    page.keyboard.press("]")
    assert opened.active() == "ch-2"
    page.keyboard.press("[")
    assert opened.active() == "ch-1"


def test_presenter_mode_steps_scene_by_scene_with_progress(opened: Opened, lesson: Path) -> None:
    page = opened.page
    count = len(all_scenes(script_of(lesson)))
    page.keyboard.press("p")
    assert opened.shown_scenes() == ["scene-1"] and page.locator("#presenter").is_visible()
    assert page.locator("#toc").is_hidden()
    page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")
    assert opened.shown_scenes() == ["scene-3"]
    assert page.evaluate("document.getElementById('progress').value") == 3
    assert page.locator("#position").inner_text().startswith(f"Scene 3 of {count}: ")
    page.keyboard.press("ArrowLeft")
    assert opened.shown_scenes() == ["scene-2"]
    page.keyboard.press("End")
    assert opened.shown_scenes() == [f"scene-{count}"]
    assert page.evaluate("document.getElementById('progress').value") == count
    page.keyboard.press("Home")
    page.keyboard.press("]")  # the next chapter's first scene
    first_of_chapter_1 = len(script_of(lesson)["chapters"][0]["scenes"]) + 1
    assert opened.shown_scenes() == [f"scene-{first_of_chapter_1}"]
    page.keyboard.press("Escape")
    assert len(opened.shown_scenes()) == count and page.locator("#presenter").is_hidden()
    assert opened.errors == []


def test_highlighted_lines_are_the_anchored_lines(opened: Opened, lesson: Path) -> None:
    page = opened.page
    checked = 0
    for number, scene in enumerate(all_scenes(script_of(lesson)), 1):
        blocks = page.locator(f"#scene-{number} figure.code-block")
        assert blocks.count() == len(scene["anchors"])
        for index, anchor in enumerate(scene["anchors"]):
            block = blocks.nth(index)
            marked = [
                int(x) for x in block.locator(".line.hl").evaluate_all("els => els.map(e => e.dataset.line)")
            ]
            assert marked == list(range(anchor["start_line"], anchor["end_line"] + 1))
            numbers = block.locator(".line.hl .ln").all_inner_texts()
            assert [int(n) for n in numbers] == marked  # the line numbers shown are the file's
            colour = "els => els.map(e => getComputedStyle(e).backgroundColor)"
            lit = set(block.locator(".line.hl").evaluate_all(colour))
            plain = set(block.locator(".line:not(.hl)").evaluate_all(colour))
            assert len(lit) == 1 and not lit & plain
            checked += 1
    assert checked > 3


def test_flagged_scenes_and_anchor_issues_are_visible(opened: Opened, lesson: Path) -> None:
    page = opened.page
    script = script_of(lesson)
    assert page.locator(".scene.flagged .flag").is_visible()
    issues = page.locator(".issues li")
    assert issues.count() == len(script["anchor_issues"]) and issues.first.is_visible()
    assert page.locator("#anchor-report").is_visible()
    assert page.locator("#incomplete").count() == 0


def test_an_incomplete_lesson_is_marked(browser: BrowserContext, lesson: Path, tmp_path: Path) -> None:
    copy = tmp_path / "lesson"
    copy.mkdir()
    script = script_of(lesson) | {"complete": False}
    (copy / "script.json").write_text(json.dumps(script))
    (copy / "run.json").write_bytes((lesson / "run.json").read_bytes())
    code, _, stderr = cli(["render", str(copy), "--formats", "html"], tmp_path / "cache")
    assert code == 0, stderr
    opened = Opened(browser, copy / "site" / "index.html")
    assert opened.page.locator("#incomplete").is_visible() and opened.errors == []
    opened.page.close()
