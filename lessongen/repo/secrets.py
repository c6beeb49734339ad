"""Finding secrets in file contents before anything is sent, and redacting or leaving out those files."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import NoReturn

from lessongen.errors import UsageError
from lessongen.repo.secret_checks import plausible
from lessongen.repo.secret_rules import CONTEXT, FORMATS, NAMED
from lessongen.repo.secret_scanner import ProviderScanner, Span, library_version
from lessongen.repo.secret_text import TextRules
from lessongen.repo.secret_views import JSON_SUFFIXES, View, joined_literals, json_unescaped
from lessongen.shared.data import SkippedPath, SourceFile, text_digest
from lessongen.shared.text import first_few

# Bump when our rules change: files remembered as clean are scanned again (so they are when the
# provider scanner's version changes).
SCANNER_VERSION = 4


def scanner_version() -> str:
    """What files remembered as clean were scanned with."""
    return f"{SCANNER_VERSION}+kingfisher-{library_version()}"


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


Redaction = tuple[str, tuple["SecretFinding", ...]]  # a text with its secrets replaced, and the findings
PathNames = Mapping[str, tuple[str, tuple[str, ...]]]  # each path: as it is shown, and the kinds replaced


@dataclass(frozen=True)
class SecretsResult:
    """The files to send after the policy, the files it left out, and every finding."""

    files: tuple[SourceFile, ...]
    skipped: tuple[SkippedPath, ...]
    findings: tuple[SecretFinding, ...]


class SecretScanner:
    """Finds secrets in a text and in a path: the provider scanner, then our own rules, over every view.

    Each text is read as it stands and, where they apply, with JSON string escapes undone and with
    joined string literals read as one; a span found in a view is mapped back to the original.
    """

    def __init__(self, provider: ProviderScanner) -> None:
        self.provider = provider

    def spans(self, text: str, path: str) -> list[Span]:
        """(start, end, kind) of every secret value in `text`, in order and never overlapping."""
        ranked = self._ranked(text, path)
        if path.lower().endswith(JSON_SUFFIXES):
            ranked += self._through(json_unescaped(text), path)
        ranked += self._through(joined_literals(text), path)
        return _merge(ranked)

    def _ranked(self, text: str, path: str) -> list[tuple[int, Span]]:
        data = text.encode("utf-8", "surrogatepass")  # one encoding for both scanners
        rules = TextRules(text, path, data if len(data) == len(text) else None)
        ours = rules.spans(FORMATS)
        found = [(0, s) for s in ours]
        for start, end, kind in self.provider.spans(text, data):
            # A finding around one of our own (a whole PEM block around its body) gives way to it.
            if plausible(text, start, end) and not any(start <= a and b <= end for a, b, _ in ours):
                found.append((1, (start, end, kind)))
        found += [(2, s) for s in rules.spans(CONTEXT)]
        found += [(3, s) for s in rules.spans(NAMED)]
        return found

    def _through(self, view: View | None, path: str) -> list[tuple[int, Span]]:
        if view is None:
            return []
        return [
            (rank, (*view.source(start, end), kind))
            for rank, (start, end, kind) in self._ranked(view.text, path)
        ]

    def path_spans(self, paths: Sequence[str]) -> list[list[Span]]:
        """Secrets in each path (file and folder names are sent with every file), scanned in one go."""
        joined = "\n".join(p for p in paths if "\n" not in p)
        found = [(0, s) for s in TextRules(joined, "").spans(FORMATS)]
        found += [(1, s) for s in self.provider.spans(joined)]
        spans = _merge(found)
        out: list[list[Span]] = []
        at = first = 0  # spans[first] is the first that may reach the path at `at`: merged spans are
        for path in paths:  # disjoint and in order, so each path looks only at its own (never at all)
            if "\n" in path:  # a rare name with a newline in it is scanned on its own
                out.append(self.path_spans([path.replace("\n", " ")])[0])
                continue
            end = at + len(path)
            while first < len(spans) and spans[first][1] <= at:
                first += 1
            mine: list[Span] = []
            i = first
            while i < len(spans) and spans[i][0] < end:
                a, b, k = spans[i]
                mine.append((max(a, at) - at, min(b, end) - at, k))
                i += 1
            out.append(mine)
            at = end + 1
        return out


def _merge(ranked: Sequence[tuple[int, Span]]) -> list[Span]:
    """Overlapping spans joined into one, named after the best-ranked rule among them (then the earliest)."""
    merged: list[tuple[int, int, int, str]] = []  # start, end, rank, kind
    for rank, (start, end, kind) in sorted(ranked, key=lambda r: (r[1][0], r[0])):
        if start >= end:
            continue
        if merged and start < merged[-1][1]:
            first, last, best, name = merged[-1]
            merged[-1] = (first, max(last, end), *((rank, kind) if rank < best else (best, name)))
        else:
            merged.append((start, end, rank, kind))
    return [(start, end, kind) for start, end, _, kind in merged]


def _findings(path: str, text: str, spans: Sequence[Span]) -> tuple[SecretFinding, ...]:
    findings: list[SecretFinding] = []
    line, last = 1, 0
    for start, _, kind in spans:
        line += text.count("\n", last, start)
        last = start
        findings.append(SecretFinding(path, line, kind))
    return tuple(findings)


# White space, escaped newlines, quotes, and a `+` between quotes keep their place in a masked value.
_STRUCTURE = re.compile(r"((?:\s|\\[rnt]|[\"']|(?<=[\"'\s])\+(?=[\s\"']))+)")


def _mask(value: str, kind: str) -> str:
    """The marker in place of the value, keeping its newlines, quotes and indents so every line stays put."""
    pieces = _STRUCTURE.split(value)  # payload at even indexes, structure at odd ones
    first = next((i for i in range(0, len(pieces), 2) if pieces[i]), 0)
    marker = f"[REDACTED:{kind}]"
    return "".join(piece if i % 2 else (marker if i == first else "") for i, piece in enumerate(pieces))


def _replace(text: str, found: Sequence[Span]) -> str:
    out: list[str] = []
    last = 0
    for start, end, kind in found:
        out += (text[last:start], _mask(text[start:end], kind))
        last = end
    out.append(text[last:])
    return "".join(out)


def redact(text: str, path: str, scanner: SecretScanner) -> Redaction:
    """`text` with each secret value replaced by `[REDACTED:kind]`, and what was replaced."""
    found = scanner.spans(text, path)
    if not found:
        return text, ()
    return _replace(text, found), _findings(path, text, found)


def redact_paths(paths: Sequence[str], scanner: SecretScanner) -> PathNames:
    """Each path with every secret in its names replaced by `[REDACTED:kind]`, and the kinds replaced."""
    return {
        path: (_replace(path, found), tuple(kind for _, _, kind in found)) if found else (path, ())
        for path, found in zip(paths, scanner.path_spans(paths), strict=True)
    }


def describe(findings: Sequence[SecretFinding], most: int = 5) -> str:
    """Kinds and lines, never values: `aws-access-key on line 3; private-key in the path, on lines 9, 40`."""
    lines: dict[str, list[int]] = {}
    for finding in findings:
        lines.setdefault(finding.kind, []).append(finding.line)
    described = []
    for kind, numbers in lines.items():
        where = ["in the path"] if 0 in numbers else []
        where += [_on_lines(numbers, most)] if any(numbers) else []
        described.append(f"{kind} {', '.join(where)}")
    return "; ".join(described)


def _on_lines(numbers: Sequence[int], most: int) -> str:
    numbers = [n for n in numbers if n]  # line 0 is the path
    return f"on line{'s' if len(numbers) > 1 else ''} {first_few([str(n) for n in numbers], most)}"


def _redacted(file: SourceFile, text: str, count: int) -> SourceFile:
    note = f"{count} secret(s) redacted"
    # A plan's unread file comes with the digest of its redacted text, remembered when it was scanned.
    digest = file.digest if file.unread else text_digest(text)
    return replace(file, text=text, digest=digest, note=f"{file.note}; {note}" if file.note else note)


def apply_secrets_policy(
    files: Sequence[SourceFile], mode: SecretsMode, scanner: SecretScanner
) -> SecretsResult:
    """Scan every file's text and path, and redact, leave out or refuse the ones holding secrets, as
    `mode` says."""
    if mode is SecretsMode.OFF:
        return SecretsResult(tuple(files), (), ())
    texts = screen_texts([(f, redact(f.text, f.path, scanner)) for f in files], mode)
    names = redact_paths([*(f.path for f in texts.files), *(s.path for s in texts.skipped)], scanner)
    return screen_paths(texts, mode, names)


def screen_texts(redactions: Iterable[tuple[SourceFile, Redaction]], mode: SecretsMode) -> SecretsResult:
    """The policy over the files' texts, given each file's redaction (see `apply_secrets_policy`)."""
    kept: list[SourceFile] = []
    skipped: list[SkippedPath] = []
    findings: list[SecretFinding] = []
    for file, (text, found) in redactions:
        findings += found
        if found and mode is SecretsMode.REDACT:
            kept.append(_redacted(file, text, len(found)))
        elif found and mode is SecretsMode.SKIP_FILE:
            skipped.append(SkippedPath(file.path, "secret found", describe(found)))
        else:
            kept.append(file)
    if mode is SecretsMode.FAIL and findings:
        refuse(findings)
    return SecretsResult(tuple(kept), tuple(skipped), tuple(findings))


def screen_paths(result: SecretsResult, mode: SecretsMode, names: PathNames) -> SecretsResult:
    """The policy over the paths of a result of `screen_texts`, given each path's redaction: a secret in
    a file's path is redacted there (in its findings too), or the file is left out or the run refused."""
    in_path = {path: kinds for path, (_, kinds) in names.items() if kinds}
    if not in_path:
        return result
    findings = [SecretFinding(names[path][0], 0, kind) for path, kinds in in_path.items() for kind in kinds]
    findings += [replace(f, path=names[f.path][0]) if f.path in names else f for f in result.findings]
    findings.sort(key=lambda f: (f.path, f.line))
    if mode is SecretsMode.FAIL:
        refuse(findings)
    kept: list[SourceFile] = []
    skipped = [replace(s, path=names[s.path][0]) for s in result.skipped]
    for file in result.files:
        shown, kinds = names[file.path]
        if kinds and mode is SecretsMode.SKIP_FILE:
            skipped.append(
                SkippedPath(shown, "secret found", describe([f for f in findings if f.path == shown]))
            )
        elif kinds:
            count = len(kinds)
            note = f"{count} secret(s) redacted in the path"
            kept.append(replace(file, path=shown, note=f"{file.note}; {note}" if file.note else note))
        else:
            kept.append(file)
    return SecretsResult(tuple(kept), tuple(skipped), tuple(findings))


def refuse(findings: Sequence[SecretFinding]) -> NoReturn:
    """Stop the run: how many secrets of which kinds were found in which files (never the values)."""
    flagged = list(dict.fromkeys(f.path for f in findings))
    kinds = ", ".join(sorted({f.kind for f in findings}))
    where = first_few(flagged, 5)
    raise UsageError(
        f"{len(findings)} secret(s) ({kinds}) found in {len(flagged)} file(s): {where}",
        "pass --secrets redact to send them with the values replaced, or --secrets skip-file to leave "
        "those files out",
    )
