import itertools
from functools import partial
from pathlib import Path

from helpers import part

from lessongen.batching import (
    DOCS,
    EXAMPLES,
    PROJECT,
    SOURCE,
    TESTS,
    Anchoring,
    make_batches,
    teaching_order,
    teaching_rank,
)
from lessongen.shared.data import FilePart
from lessongen.tokens.counter import TokenCounter
from lessongen.tokens.splitting import split_part


def no_split(p: FilePart, budget: int) -> tuple[FilePart, ...]:
    raise AssertionError("nothing here should need splitting")


def test_teaching_rank() -> None:
    assert teaching_rank("README.md") == DOCS
    assert teaching_rank("docs/guide/setup.md") == DOCS
    assert teaching_rank("pyproject.toml") == PROJECT
    assert teaching_rank("src/app/core.py") == SOURCE
    assert teaching_rank("examples/demo.py") == EXAMPLES
    assert teaching_rank("tests/test_core.py") == TESTS
    assert teaching_rank("src/core_test.go") == TESTS
    assert teaching_rank("web/button.spec.ts") == TESTS


def test_teaching_order_keeps_folders_together() -> None:
    paths = [
        "tests/test_a.py",
        "src/pkg/b.py",
        "src/pkg/__init__.py",
        "src/a.py",
        "README.md",
        "pyproject.toml",
        "src/pkg/sub/c.py",
        "src/README.md",
        "src-extra/x.py",
        "docs/intro.md",
    ]
    order = [p.path for p in teaching_order([part(p, 1) for p in paths])]
    assert order == [
        "README.md",
        "docs/intro.md",
        "pyproject.toml",
        "src/README.md",
        "src/a.py",
        "src/pkg/__init__.py",
        "src/pkg/b.py",
        "src/pkg/sub/c.py",
        "src-extra/x.py",
        "tests/test_a.py",
    ]


def test_batches_respect_budget_and_keep_folders() -> None:
    parts = [part(f"a/{i}.py", 100) for i in range(3)] + [part(f"b/{i}.py", 100) for i in range(3)]
    batches = make_batches(parts, budget=500, split=no_split, overhead=lambda p: 10)
    assert [b.paths for b in batches] == [
        ("a/0.py", "a/1.py", "a/2.py"),
        ("b/0.py", "b/1.py", "b/2.py"),
    ]
    assert all(b.tokens + 10 * len(b.parts) <= 500 for b in batches)


def test_small_folders_share_a_batch() -> None:
    parts = [part("a/x.py", 50), part("b/y.py", 50), part("c/z.py", 50)]
    batches = make_batches(parts, budget=500, split=no_split, overhead=lambda p: 10)
    assert len(batches) == 1


def test_folder_larger_than_a_batch_is_spread_in_order() -> None:
    parts = [part(f"big/{i:02d}.py", 200) for i in range(5)]
    batches = make_batches(parts, budget=450, split=no_split, overhead=lambda p: 10)
    flat = [p for b in batches for p in b.paths]
    assert flat == [f"big/{i:02d}.py" for i in range(5)]
    assert [len(b.parts) for b in batches] == [2, 2, 1]


def test_large_file_split_into_line_ranges_nothing_lost() -> None:
    counter = TokenCounter.for_model("gpt-4o-mini")
    text = "".join(f"def function_{i}(value):\n    return value * {i} + {i * 7}\n\n" for i in range(600))
    whole = FilePart("pkg/huge.py", text, counter.count(text), "d" * 32, end_line=text.count("\n"))
    batches = make_batches(
        [whole], budget=2000, split=partial(split_part, counter=counter), overhead=lambda p: 32
    )
    pieces = [p for b in batches for p in b.parts]
    assert len(pieces) > 3
    assert "".join(p.text for p in pieces) == text
    assert all(p.tokens <= 2000 - 32 and p.tokens == counter.count(p.text) for p in pieces)
    assert pieces[0].start_line == 1 and pieces[-1].end_line == text.count("\n")
    for before, after in itertools.pairwise(pieces):
        assert after.start_line == before.end_line + 1
    assert (
        pieces[1].label
        == f"pkg/huge.py (part 2 of {len(pieces)}, lines {pieces[1].start_line}-{pieces[1].end_line})"
    )


def test_single_huge_line_is_cut_not_dropped() -> None:
    counter = TokenCounter.for_model("gpt-4o-mini")
    text = "x = '" + "ab" * 20000 + "'\n"
    whole = FilePart("data.py", text, counter.count(text), "e" * 32)
    pieces = split_part(whole, 1000, counter)
    assert "".join(p.text for p in pieces) == text
    assert all(p.tokens <= 1000 for p in pieces)


def test_safe_pieces_are_exactly_additive_on_real_code() -> None:
    import json as json_module

    from lessongen.tokens.pieces import safe_pieces

    stdlib = Path(json_module.__file__).parents[1]
    for model in ("gpt-4o-mini", "gpt-4"):
        counter = TokenCounter.for_model(model)
        for name in (
            "argparse.py",
            "typing.py",
            "tarfile.py",
            "pydoc_data/topics.py",
            "email/_header_value_parser.py",
        ):
            path = stdlib / name
            if not path.exists():
                continue
            text = path.read_text()
            pieces = safe_pieces(text, size=2048)
            assert "".join(pieces) == text
            assert len(pieces) > 3, name  # topics.py too: its lines are all indented
            assert sum(counter.count_many(pieces)) == counter.count(text), name


def test_split_reuses_piece_counts() -> None:
    from lessongen.shared.data import SourceFile
    from lessongen.tokens.cache import TokenCache
    from lessongen.tokens.counting import CachedCounter, count_files

    counter = TokenCounter.for_model("gpt-4o-mini")
    text = "".join(f"def function_{i}(value):\n    return value * {i}\n\n" for i in range(3000))
    source = SourceFile("big.py", text, "a" * 32, len(text))
    cache = TokenCache(None, counter.encoding_name)
    (whole,) = count_files([source], counter, cache)
    assert whole.tokens == counter.count(text)

    class Refuse:
        encoding_name = counter.encoding_name
        line_additive = True

        def count(self, text: str) -> int:
            raise AssertionError("a piece was counted again")

        def count_many(self, texts: list[str]) -> list[int]:
            raise AssertionError("pieces were counted again")

    cached = CachedCounter(Refuse(), cache)  # type: ignore[arg-type]
    pieces = split_part(whole, 30_000, cached, cached.count_pieces)
    assert "".join(p.text for p in pieces) == text
    assert len(pieces) > 1 and all(p.tokens <= 30_000 for p in pieces)
    assert sum(p.tokens for p in pieces) == whole.tokens
    assert pieces[-1].end_line == text.count("\n")


def test_background_counting_matches_direct_counts_in_processes_and_threads() -> None:
    import json as json_module
    import threading

    from lessongen.shared.data import SourceFile
    from lessongen.tokens.cache import TokenCache
    from lessongen.tokens.counting import BackgroundCounter

    counter = TokenCounter.for_model("gpt-4o-mini")
    stdlib = Path(json_module.__file__).parents[1]
    files = [
        SourceFile(p.name, p.read_text(), f"{i:032x}", p.stat().st_size)
        for i, p in enumerate(sorted(stdlib.glob("*.py"))[:60])
    ]
    expected = [counter.count(f.text) for f in files]
    for with_thread in (False, True):
        stop = threading.Event()
        other = threading.Thread(target=stop.wait) if with_thread else None
        if other:
            other.start()  # another thread makes forking unsafe: counting falls back to threads
        try:
            with BackgroundCounter(
                counter, TokenCache(None, counter.encoding_name), chunk_chars=50_000
            ) as bg:
                for f in files:
                    bg.add(f)
                parts = bg.parts(files)
        finally:
            stop.set()
            if other:
                other.join()
        assert [p.tokens for p in parts] == expected


def test_an_anchored_folder_starts_a_batch_even_where_it_would_fit() -> None:
    parts = [part("a/x.py", 50), part("b/y.py", 50), part("c/z.py", 50), part("d/w.py", 400)]
    every = make_batches(parts, budget=500, split=no_split, overhead=lambda p: 10, anchoring=Anchoring(1, 1))
    none = make_batches(parts, budget=500, split=no_split, overhead=lambda p: 10, anchoring=Anchoring(0, 0))
    assert [b.paths for b in every] == [("a/x.py",), ("b/y.py",), ("c/z.py",), ("d/w.py",)]
    assert [b.paths for b in none] == [("a/x.py", "b/y.py", "c/z.py"), ("d/w.py",)]


def test_an_anchored_file_of_a_folder_larger_than_a_batch_starts_a_batch() -> None:
    parts = [part(f"big/{i}.py", 100) for i in range(8)]
    every = make_batches(parts, budget=500, split=no_split, overhead=lambda p: 10, anchoring=Anchoring(0, 1))
    none = make_batches(parts, budget=500, split=no_split, overhead=lambda p: 10, anchoring=Anchoring(0, 0))
    assert [len(b.parts) for b in every] == [1] * 8
    assert [len(b.parts) for b in none] == [4, 4]
