"""Finding secrets in file contents before anything is sent, and redacting or leaving out those files."""

from __future__ import annotations

import bisect
import hashlib
import math
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from lessongen.data import SkippedPath, SourceFile
from lessongen.errors import UsageError


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


@dataclass(frozen=True)
class _Rule:
    """A regex whose group `v` is the secret value, run only on text that holds one of its triggers."""

    kind: str
    pattern: re.Pattern[str]
    triggers: tuple[str, ...]
    accept: Callable[[re.Match[str]], bool]


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters the value mixes."""
    return sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
            any(not c.isalnum() for c in value),
        )
    )


_PLACEHOLDER_PARTS = (
    "changeme", "change_me", "change-me", "xxx", "***", "...", "your", "example", "placeholder",
    "dummy", "redacted", "replace", "insert", "sample", "${", "{{", "$(", "%(", "<", ">",
)  # fmt: skip
_DEFAULT_PASSWORDS = frozenset(
    [
        "password",
        "passwd",
        "pass",
        "pwd",
        "secret",
        "changeme",
        "example",
        "user",
        "username",
        "test",
        "root",
        "admin",
        "guest",
        "postgres",
        "mysql",
        "redis",
        "rabbitmq",
        "mongo",
        "foo",
        "bar",
    ]
)
# Words joined by separators, or a dotted name such as process.env.API_TOKEN: code, not a secret.
_WORDS = re.compile(r"[A-Za-z]+(?:[-_./][A-Za-z]+)*")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{20,}")


def _placeholder(value: str) -> bool:
    low = value.lower()
    return len(value) < 8 or value.startswith("$") or any(p in low for p in _PLACEHOLDER_PARTS)


def _high_entropy(m: re.Match[str]) -> bool:
    """A value assigned to a secret-sounding name that looks generated, not a word or a placeholder."""
    value = m["v"]
    if _placeholder(value) or _WORDS.fullmatch(value) or _classes(value) < 2:
        return False
    if not m["q"] and not any(c.isdigit() for c in value):
        return False  # unquoted and digit-free: an expression such as a variable name
    if len(value) < 16:  # a short password counts only when it mixes three kinds of character
        return _classes(value) >= 3 and _entropy(value) >= 2.5
    return _entropy(value) >= min(3.5, 0.75 * math.log2(len(value)))


def _db_password(m: re.Match[str]) -> bool:
    value = m["v"]
    low = value.lower()
    return not (
        low in _DEFAULT_PASSWORDS
        or value.startswith(("$", "%", "{"))
        or set(value) <= set("*x")
        or any(p in low for p in _PLACEHOLDER_PARTS)
    )


def _key_body(m: re.Match[str]) -> bool:
    return bool(_BASE64_RUN.search(m["v"])) and "REDACTED" not in m["v"]


def _mixed(m: re.Match[str]) -> bool:
    """At least two of lower case, upper case and digits: a generated key, not a kebab-case word."""
    return _classes(m["v"].replace("-", "").replace("_", "")) >= 2


def _no_example(m: re.Match[str]) -> bool:
    return "EXAMPLE" not in m["v"]


def _rule(
    kind: str, pattern: str, triggers: tuple[str, ...], accept: Callable[[re.Match[str]], bool] | None = None
) -> _Rule:
    return _Rule(kind, re.compile(pattern), triggers, accept or (lambda m: True))


_L = r"(?<![A-Za-z0-9_-])"  # the token is not the tail of a longer word
_R = r"(?![A-Za-z0-9_-])"
_PEM_BEGIN = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
_PEM_END = r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
_TRIM = r"(?:\s|\\[rn])*"  # newlines, real or escaped in a JSON or code string

# Formats that identify themselves; tried first and they win over the name-based rules below.
_FORMATS: tuple[_Rule, ...] = (
    _rule(
        "gcp-service-account",
        r'"private_key"\s*:\s*"' + _PEM_BEGIN + r"(?:\\n)*(?P<v>[A-Za-z0-9+/=\\]+?)(?:\\n)*" + _PEM_END,
        ("service_account",),
        _key_body,
    ),
    _rule("gcp-service-account", r'"private_key_id"\s*:\s*"(?P<v>[0-9a-f]{40})"', ("service_account",)),
    # The body may span lines of a triple-quoted string, or string literals joined across lines.
    _rule(
        "private-key",
        _PEM_BEGIN + _TRIM + r"(?P<v>(?:[A-Za-z0-9+/=:,\s\\\"']|-(?!----))+?)" + _TRIM + _PEM_END,
        ("PRIVATE KEY",),
        _key_body,
    ),
    _rule(  # a block cut short: the base64 lines that follow the header
        "private-key",
        _PEM_BEGIN + r"(?P<v>(?:(?:\r?\n|\\n)[A-Za-z0-9+/=]{16,}(?=[\r\n\"'\\]|\Z))+)",
        ("PRIVATE KEY",),
        _key_body,
    ),
    _rule(
        "aws-access-key",
        r"(?<![A-Z0-9])(?P<v>(?:AKIA|ASIA)[A-Z0-9]{16})(?![A-Z0-9])",
        ("AKIA", "ASIA"),
        _no_example,
    ),
    _rule(
        "azure-storage-key",
        r"(?:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{20,}={0,2})",
        ("AccountKey=", "SharedAccessKey="),
    ),
    _rule(
        "github-token",
        _L + r"(?P<v>gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})" + _R,
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
    ),
    _rule("gitlab-token", _L + r"(?P<v>glpat-[A-Za-z0-9_-]{20,})" + _R, ("glpat-",)),
    _rule("slack-token", _L + r"(?P<v>xox[abpsr]-[A-Za-z0-9-]{10,})" + _R, ("xox",)),
    _rule(
        "slack-webhook",
        r"hooks\.slack\.com/services/(?P<v>[A-Za-z0-9]+/[A-Za-z0-9]+/[A-Za-z0-9]+)",
        ("hooks.slack.com",),
    ),
    _rule(
        "stripe-key",
        _L + r"(?P<v>[sr]k_(?:live|test)_[A-Za-z0-9]{16,})" + _R,
        ("sk_live_", "rk_live_", "sk_test_", "rk_test_"),
    ),
    _rule("anthropic-key", _L + r"(?P<v>sk-ant-[A-Za-z0-9_-]{20,})" + _R, ("sk-ant-",)),
    _rule("openai-key", _L + r"(?P<v>sk-(?!ant-)[A-Za-z0-9_-]{20,})" + _R, ("sk-",), _mixed),
    _rule(
        "jwt",
        _L + r"(?P<v>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})" + _R,
        ("eyJ",),
    ),
    _rule(
        "database-password",
        r"(?i:\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?))(?:\+[\w.-]+)?"
        r"://[^\s:/@'\"]*:(?P<v>[^\s@/'\"]+)@",
        ("://",),
        _db_password,
    ),
)


def _assigned(width: str = "{8,}") -> str:
    """The rest of a name, then `= "v"`, `: v`, `": "v"`, `=v`, `:= "v"`, `=> 'v'` or `: str = "v"`."""
    return (
        r"[\w.-]*[\"'\]]{0,2}[ \t]*(?::[ \t]*[A-Za-z_][\w.\[\], |]*?[ \t]*)?"
        r"(?:=>|:=|=(?!=)|:(?!:))[ \t]*(?P<q>[\"'`]?)(?P<v>[^\s\"'`,;()\[\]{}<>\\]" + width + r")(?P=q)"
    )


_SECRET_NAMES = (
    "password", "passwd", "pwd", "secret", "token", "api_key", "api-key", "apikey", "access_key",
    "access-key", "accesskey", "auth", "credential", "private_key", "private-key", "privatekey",
)  # fmt: skip

# A value assigned to a telling name; a later rule does not take a value an earlier one found.
_NAMED: tuple[_Rule, ...] = (
    _rule(
        "aws-secret-key",
        r"(?i:aws[\w.-]*secret|secret_?access_?key)" + _assigned("{40}") + r"(?![A-Za-z0-9/+=])",
        ("aws", "secret"),
        lambda m: not _placeholder(m["v"]) and _classes(m["v"]) >= 2,
    ),
    _rule(
        "azure-client-secret",
        r"(?i:azure[\w.-]*client[\w.-]*secret)" + _assigned(),
        ("azure",),
        _high_entropy,
    ),
    _rule(
        "generic-secret",
        r"(?i:pass(?:wor)?d|pwd|secret|token|api[_-]?key|access[_-]?key|auth|credential|private[_-]?key)"
        + _assigned(),
        _SECRET_NAMES,
        _high_entropy,
    ),
)


def _spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every secret value, in order and never overlapping."""
    low: str | None = None
    kept: list[tuple[int, int, str]] = []
    for rules in (_FORMATS, _NAMED):
        found: list[tuple[int, int, int, str]] = []
        for rank, rule in enumerate(rules):
            if rules is _NAMED:
                low = text.lower() if low is None else low
                if not any(t in low for t in rule.triggers):
                    continue
            elif not any(t in text for t in rule.triggers):
                continue
            found.extend(
                (m.start("v"), rank, m.end("v"), rule.kind)
                for m in rule.pattern.finditer(text)
                if rule.accept(m)
            )
        for start, _, end, kind in sorted(found):
            at = bisect.bisect(kept, (start,))
            clear_left = at == 0 or kept[at - 1][1] <= start
            clear_right = at == len(kept) or kept[at][0] >= end
            if clear_left and clear_right:
                kept.insert(at, (start, end, kind))
    return kept


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
    return _findings(path, text, _spans(text))


_STRUCTURE = re.compile(r"((?:\s|\\[rnt]|[\"'])+)")


def _mask(value: str, kind: str) -> str:
    """The marker in place of the value, keeping its newlines, quotes and indentation so lines stay put."""
    pieces = _STRUCTURE.split(value)  # payload at even indexes, structure at odd ones
    first = next((i for i in range(0, len(pieces), 2) if pieces[i]), 0)
    return "".join(
        piece if i % 2 else (f"[REDACTED:{kind}]" if i == first else "") for i, piece in enumerate(pieces)
    )


def redact(text: str, path: str) -> tuple[str, tuple[SecretFinding, ...]]:
    """`text` with each secret value replaced by `[REDACTED:kind]`, and what was replaced."""
    spans = _spans(text)
    if not spans:
        return text, ()
    out: list[str] = []
    last = 0
    for start, end, kind in spans:
        out.append(text[last:start])
        out.append(_mask(text[start:end], kind))
        last = end
    out.append(text[last:])
    return "".join(out), _findings(path, text, spans)


def describe(findings: Sequence[SecretFinding], most: int = 5) -> str:
    """Kinds and lines, never values: `aws-access-key on line 3; private-key on lines 9, 40`."""
    lines: dict[str, list[int]] = {}
    for finding in findings:
        lines.setdefault(finding.kind, []).append(finding.line)
    parts = []
    for kind, numbers in lines.items():
        shown = ", ".join(map(str, numbers[:most])) + (
            f" and {len(numbers) - most} more" if len(numbers) > most else ""
        )
        parts.append(f"{kind} on line{'s' if len(numbers) > 1 else ''} {shown}")
    return "; ".join(parts)


def _redacted(file: SourceFile, text: str, count: int) -> SourceFile:
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    note = f"{count} secret(s) redacted"
    return replace(file, text=text, digest=digest, note=f"{file.note}; {note}" if file.note else note)


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
        if not found:
            kept.append(file)
            continue
        findings.extend(found)
        flagged.append(file.path)
        if mode is SecretsMode.REDACT:
            kept.append(_redacted(file, text, len(found)))
        elif mode is SecretsMode.SKIP_FILE:
            skipped.append(SkippedPath(file.path, "secret found", describe(found)))
        else:
            kept.append(file)
    if mode is SecretsMode.FAIL and findings:
        kinds = ", ".join(sorted({f.kind for f in findings}))
        where = ", ".join(flagged[:5]) + (f" and {len(flagged) - 5} more" if len(flagged) > 5 else "")
        raise UsageError(
            f"{len(findings)} secret(s) ({kinds}) found in {len(flagged)} file(s): {where}",
            "pass --secrets redact to send them with the values replaced, or --secrets skip-file to leave "
            "those files out",
        )
    return SecretsResult(tuple(kept), tuple(skipped), tuple(findings))
