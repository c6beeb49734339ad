"""The layout's import rules: each heavy library has one importing module; the terminal stays in the CLI and ui."""

import ast
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "lessongen"

# The BRIEF's rule: one importer per heavy library.
HEAVY = {
    "rich": "ui/terminal.py",
    "openai": "models/openai_chat.py",
    "tiktoken": "tokens/counter.py",
    "llama_cpp": "models/local.py",
}


@cache
def imports() -> dict[str, frozenset[str]]:
    """Every module of lessongen with the names it imports, anywhere in the file."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module)
        found[path.relative_to(PACKAGE).as_posix()] = frozenset(names)
    return found


def importers(library: str) -> set[str]:
    """The modules that import `library` or one of its submodules."""
    return {
        module
        for module, names in imports().items()
        if any(name == library or name.startswith(f"{library}.") for name in names)
    }


@pytest.mark.parametrize(("library", "home"), sorted(HEAVY.items()))
def test_a_heavy_library_has_one_importer(library: str, home: str) -> None:
    assert importers(library) == {home}


def test_typer_is_imported_only_by_the_cli() -> None:
    found = importers("typer")
    assert found and all(module.startswith("cli/") for module in found), found
