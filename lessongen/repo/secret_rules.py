"""The secret-detection rules: one regex per kind, whose group `v` is the value, and false-alarm checks.

Pure functions over text; `spans` finds every secret value's position. Bump SCANNER_VERSION in
secrets.py when these change, so files remembered as clean are scanned again.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass

_Accept = Callable[[re.Match[str]], bool]


@dataclass(frozen=True)
class _Rule:
    """A regex whose group `v` is the secret value, and a check that the value is not a false alarm."""

    kind: str
    pattern: re.Pattern[str]
    accept: _Accept
    # Format rules run only on text holding one of `words` (when given). Name rules are tried only where
    # one of `words` (lower case) starts: a regex that cannot start with a literal scans far slower.
    words: tuple[str, ...] = ()


def _entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def _classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters the value mixes."""
    kinds = (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    return sum(any(map(test, value)) for test in kinds)


_PLACEHOLDERS = (
    "changeme", "change_me", "change-me", "xxx", "***", "...", "your", "example", "placeholder", "dummy",
    "redacted", "replace", "insert", "sample", "password", "secret", "test", "${", "{{", "$(", "%(", "<", ">",
)  # fmt: skip
_DEFAULT_PASSWORDS = frozenset((
    "password", "passwd", "pass", "pwd", "secret", "user", "username", "test", "root", "admin", "guest",
    "postgres", "mysql", "redis", "rabbitmq", "mongo", "foo", "bar",
))  # fmt: skip
# One word, or words joined by separators, each maybe with a short number: process.env.API_TOKEN,
# /var/run/secrets/token, urn:ietf:params:oauth:token-type:x509, me@example.org, Llama-2-7b-hf.
_WORD = r"(?:[A-Za-z]+\d{0,4}|\d{1,4}[A-Za-z]{0,2})"
_ONE_WORD = r"(?:[a-z]+|[A-Z]+|[A-Z]?[a-z]+(?:[A-Z][a-z]+)*)"  # lower, UPPER, camelCase or CamelCase
_WORDS = re.compile(r"[-_./:@#]*(?:" + _ONE_WORD + "|" + _WORD + r"(?:[-_./:@]+" + _WORD + r")+)[-_./:@]*")
# Tokens that page through results or make a request idempotent: NextToken, page_token, ClientToken.
_HANDLE = re.compile(r"(?:next|page|continuation|client|request|change|update|lock|idempotency|sync)[_-]?\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# An AWS ARN, a date, or a URL (a password inside one has its own rule).
_NOT_SECRET = re.compile(r"^(?:arn:|\d{4}-\d\d-\d\d)|://")
_CAPITALIZED = re.compile(r"[A-Z][a-z]{3,}")
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")  # base64.b64encode, self.key2
_NO_SYMBOLS = {c: None for c in range(128) if not chr(c).isalnum()}
_HEX = re.compile(r"[0-9a-fA-F]+")
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_-]")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{20,}")
_DB_SCHEME = re.compile(
    r"(?i:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?)(?:\+[\w.-]+)?\Z"
)


def _placeholder(value: str, shortest: int = 8) -> bool:
    low = value.lower()
    return len(value) < shortest or value.startswith("$") or any(p in low for p in _PLACEHOLDERS)


def _high_entropy(m: re.Match[str]) -> bool:
    """A value assigned to a secret-sounding name that looks generated: not words, an id or a placeholder."""
    value = m["v"]
    if _placeholder(value) or _classes(value) < 2 or _WORDS.fullmatch(value) or _NOT_SECRET.search(value):
        return False
    if m[0][:5].lower() == "token" and (
        _UUID.fullmatch(value) or _HANDLE.search(m.string[max(m.start() - 16, 0) : m.start()].lower())
    ):
        return False  # a request id, a lock or a page token
    if not m["q"] and (_DOTTED.fullmatch(value) or not any(map(str.isdigit, value))):
        return False  # unquoted: more likely an expression than a literal
    if sum(map(len, _CAPITALIZED.findall(value))) >= 0.7 * len(value):
        return False  # CamelCase words such as Ec2InstanceMetadata (0.1% to 0.7% of random tokens)
    if len(value) < 16:  # a short password counts only when it mixes lower and upper case and digits
        return _classes(value.translate(_NO_SYMBOLS)) == 3 and _entropy(value) >= 2.5
    if _HEX.fullmatch(value):  # 16 hex digits is more often a hash or an id than a key
        return len(value) >= 20 and _entropy(value) >= 3.0
    return _entropy(value) >= min(3.5, 0.75 * math.log2(len(value)))


def _db_password(m: re.Match[str]) -> bool:
    """Not a default or a template such as ${DB_PASSWORD}, and the URL's scheme is a database's."""
    value, start = m["v"], m.start()
    if _placeholder(value, 1) or value.lower() in _DEFAULT_PASSWORDS or value[0] in "%{":
        return False
    return bool(_DB_SCHEME.search(m.string, max(0, start - 40), start))


def _key_body(m: re.Match[str]) -> bool:
    return bool(_BASE64_RUN.search(m["v"])) and "REDACTED" not in m["v"]


def _always(m: re.Match[str]) -> bool:
    return True


def _alone(test: _Accept = _always) -> _Accept:
    """`test`, and the token is not the tail of a longer word."""
    # Checked here, not with a leading lookbehind: that stops the regex engine from jumping to the
    # pattern's literal prefix, and the scan gets about 30 times slower.
    return lambda m: not _TOKEN_CHAR.match(m.string, max(m.start("v") - 1, 0), m.start("v")) and test(m)


def _mixed(m: re.Match[str]) -> bool:
    """Two of lower case, upper case and digits: a generated key, not a kebab-case word."""
    return _classes(m["v"].replace("-", "").replace("_", "")) >= 2


def _rule(kind: str, pattern: str, accept: _Accept, words: tuple[str, ...] = ()) -> _Rule:
    return _Rule(kind, re.compile(pattern), accept, words)


_PEM_BEGIN = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
_PEM_END = r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
_TRIM = r"(?:\s|\\[rn]|[\"'])*"  # newlines, real or escaped, and the quotes of joined string literals
_NL = r"(?:\r?\n|\\n)"
_B64_LINE = r"[A-Za-z0-9+/=]{16,}(?=[\r\n\"'\\]|\Z)"  # a whole line of base64
_END = r"(?![A-Za-z0-9_-])"

# Formats that identify themselves: they win over the name rules below, and an earlier rule over a later.
_FORMATS: tuple[_Rule, ...] = (
    _rule(
        "gcp-service-account",
        r'"private_key"\s*:\s*"' + _PEM_BEGIN + r"(?:\\n)*(?P<v>[A-Za-z0-9+/=\\]+?)(?:\\n)*" + _PEM_END,
        _key_body,
        ("service_account",),
    ),
    _rule(
        "gcp-service-account", r'"private_key_id"\s*:\s*"(?P<v>[0-9a-f]{40})"', _always, ("service_account",)
    ),
    # The body may span a triple-quoted string, or string literals joined across lines.
    _rule(
        "private-key",
        _PEM_BEGIN + _TRIM + r"(?P<v>(?:[A-Za-z0-9+/=:,\s\\\"']|-(?!----))+?)" + _TRIM + _PEM_END,
        _key_body,
    ),
    _rule(  # a block cut short: the base64 lines after the header
        "private-key",
        _PEM_BEGIN + _NL + r"(?P<v>" + _B64_LINE + r"(?:" + _NL + _B64_LINE + r")*)",
        _key_body,
    ),
    _rule(
        "aws-access-key",
        r"(?P<v>A(?:KIA|SIA)[A-Z0-9]{16})(?![A-Z0-9])",
        _alone(lambda m: "EXAMPLE" not in m["v"]),
        ("AKIA", "ASIA"),
    ),
    _rule(
        "azure-storage-key", r"(?:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{20,}=*)", _always, ("Key=",)
    ),
    _rule("github-token", r"(?P<v>gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})" + _END, _alone()),
    _rule("gitlab-token", r"(?P<v>glpat-[A-Za-z0-9_-]{20,})" + _END, _alone()),
    _rule("slack-token", r"(?P<v>xox[abpsr]-[A-Za-z0-9-]{10,})" + _END, _alone()),
    _rule("slack-webhook", r"hooks\.slack\.com/services/(?P<v>\w+/\w+/\w+)", _always),
    _rule(
        "stripe-key", r"(?P<v>[sr]k_(?:live|test)_[A-Za-z0-9]{16,})" + _END, _alone(), ("k_live_", "k_test_")
    ),
    _rule("anthropic-key", r"(?P<v>sk-ant-[A-Za-z0-9_-]{20,})" + _END, _alone()),
    _rule("openai-key", r"(?P<v>sk-(?!ant-)[A-Za-z0-9_-]{20,})" + _END, _alone(_mixed)),
    _rule("jwt", r"(?P<v>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,})" + _END, _alone()),
    # Anchored at "://"; the scheme before it is checked by _db_password. Only the password is taken.
    _rule("database-password", r"://[^\s:/@'\"]*:(?P<v>[^\s@/'\"]+)@", _db_password),
)


def _assigned(width: str = "{8,256}") -> str:
    """The rest of a name, then `= "v"`, `: v`, `": "v"`, `=v`, `:= "v"`, `=> 'v'` or `: str = "v"`."""
    # Every repeat is bounded: an unbounded one backtracks over the rest of a long line at each anchor.
    name_rest = r"[\w.-]{0,64}[\"'\]]{0,2}[ \t]*"
    annotation = r"(?::[ \t]*[A-Za-z_][\w.\[\], |]{0,64}?[ \t]*)?"
    operator = r"(?:=>|:=|=(?!=)|:(?=[ \t\"'`]))[ \t]*"  # YAML and JSON put a space or a quote after ':'
    char = r"[^\s\"'`,;()\[\]{}<>\\]"
    # Quoted up to the same quote, or unquoted up to a character a value cannot hold.
    value = r"(?P<q>[\"'`])?(?P<v>" + char + width + r")(?(q)(?P=q)|(?!" + char + "))"
    return name_rest + annotation + operator + value


# A name that tells of a secret: not author, authorizer or AuthenticationMethod.
_SECRET_NAME = (
    r"(?i:pass(?:wor)?d|pwd|secret|token|api[_-]?key|access[_-]?key|auth(?!or|entica)|credential"
    r"|private[_-]?key)"
)
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "api", "access", "auth", "credential", "private")

# A value assigned to a telling name; an earlier rule wins where two take the same value.
_NAMED: tuple[_Rule, ...] = (
    _rule(
        "aws-secret-key",
        r"(?i:aws[\w.-]*secret|secret_?access_?key)" + _assigned("{40}"),
        lambda m: not _placeholder(m["v"]) and _classes(m["v"]) >= 2,
        ("aws", "secret"),
    ),
    _rule(
        "azure-client-secret",
        r"(?i:azure[\w.-]*client[\w.-]*secret)" + _assigned(),
        _high_entropy,
        ("azure",),
    ),
    _rule("generic-secret", _SECRET_NAME + _assigned(), _high_entropy, _SECRET_WORDS),
)

# In these languages an unquoted right-hand side is an expression, not a literal.
_CODE_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".jsx", ".ts", ".tsx", ".java", ".kt", ".scala", ".go", ".rs",
    ".rb", ".php", ".cs", ".c", ".h", ".cc", ".cpp", ".hpp", ".m", ".swift", ".dart", ".lua", ".pl", ".vue",
)  # fmt: skip


def _named_matches(rule: _Rule, text: str, folded: str) -> Iterator[re.Match[str]]:
    for word in rule.words:
        at = folded.find(word)
        while at >= 0:
            if m := rule.pattern.match(text, at):
                yield m
            at = folded.find(word, at + 1)


def spans(text: str, path: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every secret value, in order and never overlapping."""
    kept: list[tuple[int, int, str]] = []
    # Lower-cases ASCII only and keeps one character per character, so offsets match `text`.
    folded = text.encode("latin-1", "replace").lower().decode("latin-1")
    code = path.lower().endswith(_CODE_SUFFIXES)
    for rules in (_FORMATS, _NAMED):
        found: list[tuple[int, int, int, str]] = []
        for rank, rule in enumerate(rules):
            if rules is _NAMED:
                matches: Iterator[re.Match[str]] = _named_matches(rule, text, folded)
            elif not rule.words or any(w in text for w in rule.words):
                matches = rule.pattern.finditer(text)
            else:
                continue
            for m in matches:
                if rule.accept(m) and not (code and rules is _NAMED and not m["q"]):
                    found.append((rank, m.start("v"), m.end("v"), rule.kind))
        for _, start, end, kind in sorted(found):  # where two values overlap, the earlier rule wins
            at = bisect.bisect(kept, (start,))
            if (at == 0 or kept[at - 1][1] <= start) and (at == len(kept) or kept[at][0] >= end):
                kept.insert(at, (start, end, kind))
    return kept
