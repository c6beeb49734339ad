"""The reuse decision (conversation/reuse.py) and its hook in the policy: pure functions, no server."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import WordCounter, part, tiny_prompts

from lessongen.conversation.compose import Composer
from lessongen.conversation.dry_run import simulate
from lessongen.conversation.fit import MAX_SCENES, CallKind, Policy
from lessongen.conversation.lesson_record import PreviousLesson, RecordedChapter, batch_digest
from lessongen.conversation.reuse import Reason, Redo, Reuse, check_same_run, decide
from lessongen.errors import UsageError
from lessongen.models.catalog import ModelInfo
from lessongen.script.assemble import chapter_headings
from lessongen.script.scenes import Anchor, Chapter, Scene
from lessongen.shared.data import Batch, FilePart

MODEL = ModelInfo("test", context_window=100_000, max_output_tokens=1000, input_price=1.0, output_price=2.0)


@pytest.fixture
def composer(tmp_path: Path) -> Composer:
    return Composer(tiny_prompts(tmp_path / "prompts"), WordCounter())


def policy() -> Policy:
    return Policy(
        input_limit=90_000,
        max_reply_tokens=1000,
        keep_recent=0,
        summary_at=80_000,
        refuse_at=85_000,
        batch_reply=100 * MAX_SCENES,
        summary_reply=50,
        intro_reply=100,
        max_batch_tokens=4000,
    )


def files(*names: str, digest: str = "") -> tuple[FilePart, ...]:
    return tuple(part(n, 20, digest=f"{n}{digest}") for n in names)


def chapter(*paths: str, flagged: str = "") -> Chapter:
    scene = Scene(
        "s1", f"about {paths}", "words", tuple(Anchor(p, 1, 1) for p in paths), paths, flagged=flagged
    )
    return Chapter(f"on {', '.join(paths)}", (scene,), "batch")


def lesson(batches: tuple[Batch, ...], flagged: int = 0) -> PreviousLesson:
    """The lesson a run of `batches` wrote: the intro, then a chapter per batch."""
    intro = Chapter("Introduction", (Scene("i1", "intro", "hello"),), "intro")
    chapters = [intro] + [
        Chapter(c.title, c.scenes, f"batch {b.index + 1}")
        for b in batches
        for c in [chapter(*b.paths, flagged="bad" if b.index + 1 == flagged else "")]
    ]
    records = [RecordedChapter("intro", None, (), "intro answer")] + [
        RecordedChapter(f"batch {b.index + 1}", batch_digest(b), b.paths, f"answer {b.index + 1}")
        for b in batches
    ]
    return PreviousLesson(tuple(chapters), tuple(records), chapter_headings(chapters), {}, True)


BEFORE = (Batch(0, files("a.py")), Batch(1, files("b.py", "c.py")), Batch(2, files("d.py")))


def asked(reuse: Reuse) -> list[tuple[int, Reason]]:
    return [(a.batch, a.reason) for a in reuse.asked]


def test_an_unchanged_repository_reuses_everything(composer: Composer) -> None:
    reuse = decide(lesson(BEFORE), BEFORE, composer, Redo())
    assert reuse.up_to_date
    assert sorted(reuse.replies) == [0, 1, 2, 3]
    assert reuse.replies[2].content == "answer 2"


def test_a_changed_batch_and_the_intro_are_asked(composer: Composer) -> None:
    now = (BEFORE[0], Batch(1, (*files("b.py", digest="v2"), *files("c.py"))), BEFORE[2])
    reuse = decide(lesson(BEFORE), now, composer, Redo())
    assert asked(reuse) == [(2, Reason.CHANGED), (0, Reason.INTRO)]
    assert sorted(reuse.chapters) == [1, 3]


def test_a_moved_line_range_is_a_change(composer: Composer) -> None:
    split = (BEFORE[0], BEFORE[1], Batch(2, (FilePart("d.py", "x", 20, "d.py", 1, 2, 1, 10),)))
    reuse = decide(
        lesson(split),
        (*split[:2], Batch(2, (FilePart("d.py", "x", 20, "d.py", 1, 2, 1, 12),))),
        composer,
        Redo(),
    )
    assert asked(reuse) == [(3, Reason.CHANGED), (0, Reason.INTRO)]


def test_a_removed_batch_is_dropped_and_later_chapters_are_renumbered(composer: Composer) -> None:
    now = (BEFORE[0], Batch(1, BEFORE[2].parts))
    reuse = decide(lesson(BEFORE), now, composer, Redo())
    assert reuse.dropped == ("Chapter 2",)
    assert asked(reuse) == [(0, Reason.INTRO)]
    assert reuse.chapters[2].source == "batch 2" and reuse.chapters[2].title == "on d.py"


def test_scenes_of_removed_files_go(composer: Composer) -> None:
    before = (Batch(0, files("a.py")), Batch(1, files("b.py")))
    previous = lesson(before)
    extra = Scene(
        "s2", "on a.py and b.py", "words", (Anchor("a.py", 1, 1), Anchor("b.py", 1, 1)), ("a.py", "b.py")
    )
    only_a = Scene("s3", "on a.py", "words", (Anchor("a.py", 1, 1),), ("a.py",))
    second = Chapter("on b", (*previous.chapters[2].scenes, extra, only_a), "batch 2")
    previous = PreviousLesson((*previous.chapters[:2], second), previous.records, previous.headings, {}, True)
    reuse = decide(previous, (Batch(0, before[1].parts),), composer, Redo())  # a.py is gone
    kept = reuse.chapters[1].scenes
    assert [s.id for s in kept] == ["s1", "s2"]
    assert kept[1].anchors == (Anchor("b.py", 1, 1),) and kept[1].files == ("b.py",)


def test_redo_flagged_and_by_number(composer: Composer) -> None:
    reuse = decide(lesson(BEFORE, flagged=2), BEFORE, composer, Redo(flagged=True, chapters=(3,)))
    assert asked(reuse) == [(2, Reason.FLAGGED), (3, Reason.CHOSEN), (0, Reason.INTRO)]
    assert "answer 2" in reuse.rejected and "answer 3" in reuse.rejected and "answer 1" not in reuse.rejected


def test_redo_of_a_missing_chapter_lists_the_valid_ones(composer: Composer) -> None:
    with pytest.raises(UsageError) as caught:
        decide(lesson(BEFORE), BEFORE, composer, Redo(chapters=(4,)))
    assert (
        caught.value.one_line() == "--redo 4: the lesson has no chapter 4 (pass one of 1-3, intro or flagged)"
    )


def test_a_lesson_without_its_intro_asks_it(composer: Composer) -> None:
    previous = lesson(BEFORE)
    partial = PreviousLesson(previous.chapters[1:], previous.records[1:], previous.headings[1:], {}, False)
    assert asked(decide(partial, BEFORE, composer, Redo())) == [(0, Reason.INTRO)]


def test_other_settings_are_refused_but_another_server_is_not() -> None:
    made = {"backend": "http://a", "model": "m", "settings": {"keep_recent": 0}, "batch_budget": 10}
    check_same_run(made, {**made, "backend": "http://b", "repository": "/elsewhere"})
    with pytest.raises(UsageError, match="setting keep_recent changed"):
        check_same_run(made, {**made, "settings": {"keep_recent": 2}})


def test_reused_answers_enter_the_history_without_a_call(composer: Composer) -> None:
    reuse = decide(
        lesson(BEFORE), (BEFORE[0], Batch(1, files("b.py", "c.py", digest="v2")), BEFORE[2]), composer, Redo()
    )
    plan = simulate(BEFORE, composer, policy(), MODEL, reused=reuse.replies)
    assert [c.label for c in plan.calls] == ["batch 2", "intro"]
    full = simulate(BEFORE, composer, policy(), MODEL)
    assert [c.kind for c in full.calls].count(CallKind.BATCH) == 3
    # The batch call carries the reused first chapter as the assistant's answer, so it builds on it.
    assert plan.calls[0].prompt_tokens == full.calls[1].prompt_tokens - full.calls[
        0
    ].reply_tokens + reuse.replies[1].tokens - composer.framing("assistant")
