"""Finding secrets in file contents before anything is sent, and redacting or leaving out those files."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from lessongen.errors import UsageError
from lessongen.repo.secret_rules import spans
from lessongen.shared.data import SkippedPath, SourceFile, text_digest
from lessongen.shared.text import first_few

# Bump when the rules change: files remembered as clean are scanned again.
SCANNER_VERSION = 1


class SecretsMode(StrEnum):
    """What happens to a file that holds a secret."""

    REDACT = "redact"
    SKIP_FILE = "skip-file"
    FAIL = "fail"
    OFF = "off"


@dataclass(frozen=True)
class SecretFinding:
    """Where a secret is and what kind it is; the value itself is never kept."""

    path: str
    line: int  # 1-based; a multi-line secret counts from its first line
    kind: str


@dataclass(frozen=True)
class SecretsResult:
    """The files to send after the policy, the files it left out, and every finding."""

    files: tuple[SourceFile, ...]
    skipped: tuple[SkippedPath, ...]
    findings: tuple[SecretFinding, ...]


def _findings(path: str, text: str, spans: Sequence[tuple[int, int, str]]) -> tuple[SecretFinding, ...]:
    findings: list[SecretFinding] = []
    line, last = 1, 0
    for start, _, kind in spans:
        line += text.count("\n", last, start)
        last = start
        findings.append(SecretFinding(path, line, kind))
    return tuple(findings)


def find_secrets(path: str, text: str) -> tuple[SecretFinding, ...]:
    """Every secret in `text`, with its line and kind, in order."""
    return _findings(path, text, spans(text, path))


_STRUCTURE = re.compile(r"((?:\s|\\[rnt]|[\"'])+)")


def _mask(value: str, kind: str) -> str:
    """The marker in place of the value, keeping its newlines, quotes and indents so every line stays put."""
    pieces = _STRUCTURE.split(value)  # payload at even indexes, structure at odd ones
    first = next((i for i in range(0, len(pieces), 2) if pieces[i]), 0)
    marker = f"[REDACTED:{kind}]"
    return "".join(piece if i % 2 else (marker if i == first else "") for i, piece in enumerate(pieces))


def redact(text: str, path: str) -> tuple[str, tuple[SecretFinding, ...]]:
    """`text` with each secret value replaced by `[REDACTED:kind]`, and what was replaced."""
    found = spans(text, path)
    if not found:
        return text, ()
    out: list[str] = []
    last = 0
    for start, end, kind in found:
        out += (text[last:start], _mask(text[start:end], kind))
        last = end
    out.append(text[last:])
    return "".join(out), _findings(path, text, found)


def describe(findings: Sequence[SecretFinding], most: int = 5) -> str:
    """Kinds and lines, never values: `aws-access-key on line 3; private-key on lines 9, 40`."""
    lines: dict[str, list[int]] = {}
    for finding in findings:
        lines.setdefault(finding.kind, []).append(finding.line)
    return "; ".join(
        f"{kind} on line{'s' if len(numbers) > 1 else ''} {first_few([str(n) for n in numbers], most)}"
        for kind, numbers in lines.items()
    )


def _redacted(file: SourceFile, text: str, count: int) -> SourceFile:
    note = f"{count} secret(s) redacted"
    return replace(
        file, text=text, digest=text_digest(text), note=f"{file.note}; {note}" if file.note else note
    )


def apply_secrets_policy(files: Sequence[SourceFile], mode: SecretsMode) -> SecretsResult:
    """Scan every file and redact, leave out or refuse the ones holding secrets, as `mode` says."""
    if mode is SecretsMode.OFF:
        return SecretsResult(tuple(files), (), ())
    kept: list[SourceFile] = []
    skipped: list[SkippedPath] = []
    findings: list[SecretFinding] = []
    flagged: list[str] = []
    for file in files:
        text, found = redact(file.text, file.path)
        findings += found
        if found:
            flagged.append(file.path)
        if found and mode is SecretsMode.REDACT:
            kept.append(_redacted(file, text, len(found)))
        elif found and mode is SecretsMode.SKIP_FILE:
            skipped.append(SkippedPath(file.path, "secret found", describe(found)))
        else:
            kept.append(file)
    if mode is SecretsMode.FAIL and findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        where = first_few(flagged, 5)
        raise UsageError(
            f"{len(findings)} secret(s) ({kinds}) found in {len(flagged)} file(s): {where}",
            "pass --secrets redact to send them with the values replaced, or --secrets skip-file to leave "
            "those files out",
        )
    return SecretsResult(tuple(kept), tuple(skipped), tuple(findings))
