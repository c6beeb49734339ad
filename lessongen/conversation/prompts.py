"""Prompt templates: text files in prompts/, shipped inside the package, overridable with --prompts-dir."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from string import Template

from lessongen.errors import UsageError
from lessongen.shared.safe_read import SMALL_FILE_LIMIT, UnreadableFile, read_text

# Each template and the placeholders it may use ($name).
TEMPLATES: dict[str, frozenset[str]] = {
    "system": frozenset(),
    "batch": frozenset({"number", "count", "file_list", "scenes"}),
    "stub": frozenset({"number", "count", "file_list"}),
    "summary": frozenset({"limit"}),
    "summary_context": frozenset({"first", "last"}),
    "folded": frozenset({"first", "last"}),
    "intro": frozenset({"count"}),
    "repair": frozenset({"problem"}),
}


def default_prompts_dir() -> Path:
    """Where the shipped templates are: inside the installed package, or the source checkout's prompts/."""
    packaged = Path(__file__).parents[1] / "prompts"
    return packaged if packaged.is_dir() else Path(__file__).parents[2] / "prompts"


@dataclass(frozen=True)
class PromptSet:
    """The loaded templates; rendering substitutes only the known placeholders."""

    folder: Path
    templates: Mapping[str, str]

    def render(self, name: str, **values: object) -> str:
        """A template with its placeholders filled; repository text is never passed through here."""
        text = Template(self.templates[name]).substitute({k: str(v) for k, v in values.items()})
        return text.strip() + "\n"


def load_prompts(folder: Path | None = None) -> PromptSet:
    """Read and check every template from `folder` (default: the shipped ones)."""
    folder = folder or default_prompts_dir()
    if not folder.is_dir():
        raise UsageError(f"prompts folder {folder} does not exist", "fix --prompts-dir or prompts_dir")
    templates: dict[str, str] = {}
    for name, allowed in TEMPLATES.items():
        path = folder / f"{name}.md"
        try:
            text = read_text(path, SMALL_FILE_LIMIT)
        except UnreadableFile as exc:
            raise UsageError(
                f"prompt template {path} is {exc.strerror}", "save it as a UTF-8 text file"
            ) from None
        except OSError:
            raise UsageError(
                f"prompt template {path} is missing or unreadable",
                f"copy {name}.md from the shipped prompts/ folder into {folder}",
            ) from None
        template = Template(text)
        if not template.is_valid():
            raise UsageError(f"prompt template {path} has a stray $", "write $$ for a literal dollar sign")
        unknown = set(template.get_identifiers()) - allowed
        if unknown:
            names = ", ".join(sorted("$" + u for u in unknown))
            known = ", ".join(sorted("$" + a for a in allowed)) or "none"
            raise UsageError(f"prompt template {path} uses unknown {names}", f"placeholders allowed: {known}")
        templates[name] = text
    return PromptSet(folder=folder, templates=templates)
