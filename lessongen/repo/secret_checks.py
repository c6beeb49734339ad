"""The checks behind our secret rules: what makes a value look generated, a placeholder, a default
password or an ordinary constant, and the rule type they steer. Pure functions over strings."""

from __future__ import annotations

import base64
import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

Accept = Callable[[re.Match[str]], bool]


@dataclass(frozen=True)
class Rule:
    """A regex whose group `v` is the secret value, and a check that the value is not a false alarm."""

    kind: str
    pattern: re.Pattern[str]
    accept: Accept
    # An unanchored rule runs only on text holding one of `words` (when given); an anchored rule is
    # tried only where one of `words` (stems of secret_rules.STEMS) starts: a regex that cannot start with a literal
    # scans far slower. A gate, when given, must be found in the text first.
    words: tuple[str, ...] = ()
    anchored: bool = False
    gate: re.Pattern[str] | None = None
    folded: tuple[str, ...] = ()  # `words` in lower case: a rule none of whose folded words occur is skipped


def entropy(value: str) -> float:
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in Counter(value).values())


def classes(value: str) -> int:
    """How many of lower case, upper case, digits and other characters the value mixes."""
    cased = (any(map(test, value)) for test in (str.islower, str.isupper, str.isdigit))
    return sum(cased) + (bool(value) and not value.isalnum())  # other: not every character alphanumeric


_PLACEHOLDERS = (
    "changeme", "change_me", "change-me", "xxx", "***", "...", "your", "example", "placeholder", "dummy",
    "redacted", "replace", "insert", "sample", "password", "secret", "test", "${", "{{", "$(", "%(", "<", ">",
)  # fmt: skip
DEFAULT_PASSWORDS = frozenset((
    "password", "passwd", "pass", "pwd", "secret", "user", "username", "test", "root", "admin", "guest",
    "postgres", "mysql", "redis", "rabbitmq", "mongo", "foo", "bar",
))  # fmt: skip
# One word, or words joined by separators, each maybe with a short number: process.env.API_TOKEN,
# /var/run/secrets/token, urn:ietf:params:oauth:token-type:x509, me@example.org, Llama-2-7b-hf.
_WORD = r"(?:[A-Za-z]+\d{0,4}|\d{1,4}[A-Za-z]{0,2})"
_ONE_WORD = r"(?:[a-z]+|[A-Z]+|[A-Z]?[a-z]+(?:[A-Z][a-z]+)*)"  # lower, UPPER, camelCase or CamelCase
_WORDS = re.compile(r"[-_./:@#]*(?:" + _ONE_WORD + "|" + _WORD + r"(?:[-_./:@]+" + _WORD + r")+)[-_./:@]*")
# Tokens that page through results or make a request idempotent: NextToken, page_token, ClientToken.
HANDLE = re.compile(r"(?:next|page|continuation|client|request|change|update|lock|idempotency|sync)[_-]?\Z")
_UUID = re.compile(r"[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")
# An AWS ARN, a date, or a URL (a password inside one has its own rule).
_NOT_SECRET = re.compile(r"^(?:arn:|\d{4}-\d\d-\d\d)|://")
_CAPITALIZED = re.compile(r"[A-Z][a-z]{3,}")
_DOTTED = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)+")  # base64.b64encode, self.key2
_NO_SYMBOLS = {c: None for c in range(128) if not chr(c).isalnum()}
_HEX = re.compile(r"[0-9a-fA-F]+")
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_-]")
_BASE64_RUN = re.compile(r"[A-Za-z0-9+/]{20,}")
# Ordinary values that look generated: a digest or an SRI integrity string (sha384-...), a key
# fingerprint (SHA256:..., or hex pairs joined by colons), a go.sum hash (h1:...).
_DIGEST = re.compile(
    r"(?i:sha(?:1|224|256|384|512)|md5|h1)[-:=][A-Za-z0-9+/=_-]+|(?:[0-9a-fA-F]{2}:){7,}[0-9a-fA-F]{2}"
)
# Names of values that are not secrets although they contain "token", "secret" or "key".
_HARMLESS_NAME = re.compile(
    r"(?i:alphabet|chars?|charset|letters|digits|symbols|length|len|size|count|type|kind|regexp?|pattern|re"
    r"|prefix|suffix|format|name|names|id|ids|url|uri|endpoint|path|file|dir|ref|header|field|label|ttl"
    r"|expiry|expires|sha\d*|md5|hash|digest|checksum|crc|fingerprint|etag|integrity|commit|revision|version)\Z"
)
_RUN = re.compile(r"abcdefgh|ABCDEFGH|01234567|qwertyui|QWERTYUI")  # an alphabet or a keyboard row


def placeholder(value: str, shortest: int = 8) -> bool:
    low = value.lower()
    return len(value) < shortest or value.startswith("$") or any(p in low for p in _PLACEHOLDERS)


_LONGEST_NAME = 256
_NAME_END = re.compile(r"[\"'\]\s:=>]")
_NAME_PARTS = re.compile(r"[_.\-]|(?<=[a-z])(?=[A-Z])")


def name_of(m: re.Match[str]) -> str:
    """The whole name a value is assigned to, from the identifier's start to the operator."""
    start, stop = m.start(), max(m.start() - _LONGEST_NAME, 0)  # bounded: a hostile line is one name
    while start > stop and (m.string[start - 1].isalnum() or m.string[start - 1] in "_.-"):
        start -= 1
    return _NAME_END.split(m.string[start : m.start("v")], maxsplit=1)[0]


def ordinary(value: str) -> bool:
    """A value that looks generated but is not a secret: an id, a digest, an alphabet."""
    return bool(_UUID.fullmatch(value) or _DIGEST.fullmatch(value) or _RUN.search(value))


def generated(value: str, quoted: bool = True) -> bool:
    """A value that looks generated: not words, an id, a digest, a placeholder or an expression."""
    if not quoted and (not any(map(str.isdigit, value)) or _DOTTED.fullmatch(value)):
        return False  # unquoted: more likely an expression than a literal (checked first: it is cheap)
    if placeholder(value) or classes(value) < 2 or _WORDS.fullmatch(value) or _NOT_SECRET.search(value):
        return False
    if ordinary(value):
        return False
    if sum(map(len, _CAPITALIZED.findall(value))) >= 0.7 * len(value):
        return False  # CamelCase words such as Ec2InstanceMetadata (0.1% to 0.7% of random tokens)
    if len(value) < 16:  # a short password counts only when it mixes lower and upper case and digits
        return classes(value.translate(_NO_SYMBOLS)) == 3 and entropy(value) >= 2.5
    if _HEX.fullmatch(value):  # 16 hex digits is more often a hash or an id than a key
        return len(value) >= 20 and entropy(value) >= 3.0
    return entropy(value) >= min(3.5, 0.75 * math.log2(len(value)))


def high_entropy(m: re.Match[str]) -> bool:
    """A generated-looking value assigned to a secret-sounding name that is not a harmless one."""
    written = name_of(m)
    name = written.lower()
    last = _NAME_PARTS.split(written)[-1].lower()
    if _HARMLESS_NAME.fullmatch(last) or HANDLE.search(name[: max(name.rfind("token"), 0)]):
        return False  # TOKEN_ALPHABET, AUTH0_CLIENT_ID, cache_token_sha1, next_page_token
    return generated(m["v"], bool(m["q"]))


def real_password(value: str) -> bool:
    """Not a default or a template such as ${DB_PASSWORD}, nor a port."""
    if placeholder(value, 1) or value.lower() in DEFAULT_PASSWORDS or value[0] in "%{$<":
        return False
    return not value.isdigit()


def url_password(m: re.Match[str]) -> bool:
    return real_password(m["v"])


_IN_URL = re.compile(r"://[^\s:/@'\"]*:([^\s@/'\"]+)@")


def plausible(text: str, start: int, end: int) -> bool:
    """False for a provider finding that is a URL's default or template password (user:password@)."""
    value = text[start:end]
    if m := _IN_URL.search(value):
        return real_password(m[1])
    if text[start - 1 : start] == ":" and text[end : end + 1] == "@":
        return real_password(value)
    return True


def token(m: re.Match[str]) -> bool:
    """A header's or a query string's value that is not a placeholder or a template."""
    return generated(m["v"]) or (len(m["v"]) >= 20 and not placeholder(m["v"]) and classes(m["v"]) >= 2)


def key_body(m: re.Match[str]) -> bool:
    return bool(_BASE64_RUN.search(m["v"])) and "REDACTED" not in m["v"]


def always(m: re.Match[str]) -> bool:
    return True


def alone(test: Accept = always) -> Accept:
    """`test`, and the token is not the tail of a longer word."""
    # Checked here, not with a leading lookbehind: that stops the regex engine from jumping to the
    # pattern's literal prefix, and the scan gets about 30 times slower.
    return lambda m: not _TOKEN_CHAR.match(m.string, max(m.start("v") - 1, 0), m.start("v")) and test(m)


def mixed(m: re.Match[str]) -> bool:
    """Two of lower case, upper case and digits: a generated key, not a kebab-case word."""
    return classes(m["v"].replace("-", "").replace("_", "")) >= 2


def discord(m: re.Match[str]) -> bool:
    """The first part of a Discord bot token is a user id (digits) in base64."""
    head = m["v"].split(".", 1)[0]
    try:
        return base64.b64decode(head + "=" * (-len(head) % 4), altchars=b"-_", validate=True).isdigit()
    except ValueError:
        return False


def make_rule(
    kind: str,
    pattern: str,
    accept: Accept,
    words: tuple[str, ...] = (),
    anchored: bool = False,
    gate: str | None = None,
) -> Rule:
    folded = tuple(w.lower() for w in words)
    return Rule(
        kind, re.compile(pattern), accept, words, anchored, re.compile(gate) if gate else None, folded
    )
