"""What the secret scan found, remembered so that a plan of unchanged files needs no scanner at all.

Loading the scanner's rules costs about a second; a plan of an unchanged repository has nothing new to
scan. Kept per scanner version in the shared cache: for each file content that holds secrets, the
digest and shape of its redacted text and where (line) and what (kind) each secret is, never a value;
and for each list of paths, the paths that hold one, redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lessongen.repo.secrets import PathNames, Redaction, SecretFinding
from lessongen.shared.cache import Cache
from lessongen.shared.data import SourceFile, Unread, text_digest

MAX_FILES = 20_000  # contents with secrets: rare, a few per repository
MAX_PATH_LISTS = 256  # one per repository and selection of files


@dataclass(frozen=True)
class KnownRedaction:
    """A content's redaction without its text: the redacted text's digest and facts, and the findings."""

    digest: str
    facts: Unread
    findings: tuple[tuple[int, str], ...]  # (line, kind)

    def of(self, file: SourceFile) -> tuple[SourceFile, Redaction]:
        """The unread `file` as redacted (its digest and facts those of the redacted text), and the
        redaction `screen_texts` takes for it."""
        redacted = SourceFile(file.path, "", self.digest, file.size, file.note, self.facts)
        return redacted, ("", tuple(SecretFinding(file.path, line, kind) for line, kind in self.findings))


class KnownSecrets:
    """The redactions of contents and the secrets in lists of paths, for one scanner version."""

    def __init__(self, path: Path | None, version: str) -> None:
        self._files = Cache(path, f"secrets-found:{version}", MAX_FILES, label="secrets")
        self._paths = Cache(path, f"secrets-paths:{version}", MAX_PATH_LISTS, label="secrets")
        self._new_files: dict[str, Any] = {}
        self._new_paths: dict[str, Any] = {}
        self._used_files: set[str] = set()
        self._used_paths: set[str] = set()

    def redaction(self, digest: str) -> KnownRedaction | None:
        """The remembered redaction of a content with secrets, or None."""
        entry = self._files.get(digest)
        try:
            found = entry.value if entry is not None else None
            if not isinstance(found, dict):
                return None
            lines, head, ends = found["facts"]
            findings = tuple((int(line), str(kind)) for line, kind in found["findings"])
            known = KnownRedaction(str(found["digest"]), Unread(int(lines), str(head), bool(ends)), findings)
        except (KeyError, TypeError, ValueError):  # another shape: scan the file again
            return None
        self._used_files.add(digest)
        return known

    def remember(self, file: SourceFile, redaction: Redaction) -> None:
        """Keep the redaction of `file`'s content (written by flush)."""
        text, findings = redaction
        facts = Unread.of(text)
        self._new_files[file.digest] = {
            "digest": text_digest(text),
            "facts": [facts.lines, facts.head, facts.ends_with_newline],
            "findings": [[f.line, f.kind] for f in findings],
        }

    def names(self, paths: Sequence[str]) -> PathNames | None:
        """Each path as redacted, if this very list of paths was scanned before."""
        entry = self._paths.get(_key(paths))
        if entry is None or not isinstance(entry.value, dict):
            return None
        names: dict[str, tuple[str, tuple[str, ...]]] = {path: (path, ()) for path in paths}
        try:
            for path, (shown, kinds) in entry.value.items():
                names[str(path)] = (str(shown), tuple(str(kind) for kind in kinds))
        except (TypeError, ValueError):
            return None
        self._used_paths.add(_key(paths))
        return names

    def remember_names(self, paths: Sequence[str], names: PathNames) -> None:
        """Keep the paths of the list that hold a secret, redacted (written by flush)."""
        held = {path: [shown, list(kinds)] for path, (shown, kinds) in names.items() if kinds}
        self._new_paths[_key(paths)] = held

    def flush(self) -> None:
        """Write what was learned, each kind in one transaction."""
        self._files.put_many(self._new_files, self._used_files - self._new_files.keys())
        self._paths.put_many(self._new_paths, self._used_paths - self._new_paths.keys())
        for learned in (self._new_files, self._new_paths, self._used_files, self._used_paths):
            learned.clear()


def _key(paths: Sequence[str]) -> str:
    return text_digest("\0".join(paths))  # no path holds a NUL
