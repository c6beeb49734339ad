"""`run --update` keeps the previous lesson's batches: a shrink or a removal asks only its own batch."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fake_openai import ChapterResponder, FakeServer
from test_update import INTRO, Batches, asked, invoke

MODULES = 20  # three to a batch of 800 tokens: seven batches, the last two modules in the seventh


def _module(i: int, functions: int = 7) -> str:
    body = "".join(
        f"def area_{i}_{j}(w: float, h: float) -> float:\n    return w * h * {j}\n\n"
        for j in range(functions)
    )
    return f'"""Module {i}."""\n\n{body}'


@pytest.fixture(scope="module")
def packed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished lesson of a folder larger than a batch, packed three modules to a batch."""
    root = tmp_path_factory.mktemp("packed")
    (root / "repo" / "pkg").mkdir(parents=True)
    (root / "repo" / "README.md").write_text("# shapes\n\nGeometry helpers.\n")
    for i in range(MODULES):
        (root / "repo" / "pkg" / f"mod{i:02d}.py").write_text(_module(i))
    with FakeServer() as server:
        result = invoke(server, "run", root / "repo", root / "lesson", root / "cache")
        assert result.exit_code == 0, result.stderr
    return root


class Update:
    """A copy of the packed lesson, updated against a fake server."""

    def __init__(self, root: Path, server: FakeServer) -> None:
        self.root, self.server = root, server
        self.repo, self.out, self.cache = root / "repo", root / "lesson", root / "cache"
        self.before = self.plan()

    def plan(self, *args: str, out: Path | None = None) -> Batches:
        result = invoke(self.server, "plan", self.repo, out or self.out, self.cache, "--json", *args)
        assert result.exit_code == 0, result.stderr
        return [tuple(b["files"]) for b in json.loads(result.stdout)["batches"]]

    def fresh(self) -> Batches:
        """The batches a new lesson of the repository as it is now would have."""
        return self.plan(out=self.root / "fresh")

    def run(self) -> Batches:
        seen = len(self.server.chat_requests)
        result = invoke(self.server, "run", self.repo, self.out, self.cache, "--update")
        assert result.exit_code == 0, result.stderr
        return asked(self.server.chat_requests[seen:])

    def chapters(self) -> list[str]:
        return [c["title"] for c in json.loads((self.out / "script.json").read_text())["chapters"]]


@pytest.fixture
def update(packed: Path, tmp_path: Path, fake_openai: FakeServer) -> Update:
    shutil.copytree(packed, tmp_path / "copy")
    fake_openai.responder = ChapterResponder()
    return Update(tmp_path / "copy", fake_openai)


def test_the_lesson_has_batches_of_three_modules(update: Update) -> None:
    assert len(update.before) == 7
    assert update.before[2] == ("pkg/mod06.py", "pkg/mod07.py", "pkg/mod08.py")
    assert update.plan("--update") == update.before  # an unchanged repository keeps every batch


def test_a_shrink_asks_only_its_batch_and_the_intro(update: Update) -> None:
    (update.repo / "pkg" / "mod04.py").write_text(_module(4, functions=2))
    assert update.fresh()[2:] != update.before[2:]  # packed afresh, every later batch would move
    planned = update.plan("--update")
    assert planned == update.before
    titles = update.chapters()
    sent = update.run()
    assert sent == [update.before[1], INTRO]  # the server saw only that batch's files
    assert update.plan("--update") == planned  # the run asked the batches its plan showed
    now = update.chapters()
    assert len(now) == len(titles)
    assert [t for i, t in enumerate(now) if i not in (0, 2)] == [
        t for i, t in enumerate(titles) if i not in (0, 2)
    ]


def test_a_removal_asks_only_its_batch_and_the_intro(update: Update) -> None:
    (update.repo / "pkg" / "mod07.py").unlink()
    assert update.fresh()[3:] != update.before[3:]  # packed afresh, every later batch would move
    planned = update.plan("--update")
    assert planned == [*update.before[:2], ("pkg/mod06.py", "pkg/mod08.py"), *update.before[3:]]
    sent = update.run()
    assert sent == [("pkg/mod06.py", "pkg/mod08.py"), INTRO]
    assert update.plan("--update") == planned


def test_an_addition_joins_the_batch_of_the_file_before_it(update: Update) -> None:
    (update.repo / "pkg" / "mod10a.py").write_text(_module(10, functions=1))
    planned = update.plan("--update")
    assert planned[3] == ("pkg/mod09.py", "pkg/mod10.py", "pkg/mod10a.py", "pkg/mod11.py")
    assert [b for i, b in enumerate(planned) if i != 3] == [b for i, b in enumerate(update.before) if i != 3]
    assert update.run() == [planned[3], INTRO]


def test_a_new_folder_joins_its_neighbours_batch_where_it_fits(update: Update) -> None:
    (update.repo / "tools").mkdir()
    (update.repo / "tools" / "measure.py").write_text(_module(99, functions=2))
    planned = update.plan("--update")
    assert planned == [*update.before[:-1], ("pkg/mod18.py", "pkg/mod19.py", "tools/measure.py")]
    assert update.run() == [planned[-1], INTRO]


def test_a_rename_asks_only_the_batch_the_new_name_joins(update: Update) -> None:
    (update.repo / "pkg" / "mod07.py").rename(update.repo / "pkg" / "mod07b.py")
    planned = update.plan("--update")
    assert planned == [
        *update.before[:2],
        ("pkg/mod06.py", "pkg/mod07b.py", "pkg/mod08.py"),
        *update.before[3:],
    ]
    assert update.run() == [planned[2], INTRO]
