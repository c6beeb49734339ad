"""Our own secret rules, for what the provider scanner lacks: one regex per kind, whose group `v` is the
value, with a check (secret_checks.py) that leaves ordinary code alone.

The provider scanner (secret_scanner.py) knows providers' token formats; these rules add the
credentials it does not find: values assigned to a secret-sounding name (passwords in configs, long
values, YAML block scalars, Kubernetes Secret data), passwords in URLs and `curl -u`, Authorization
headers, tokens in query strings, and a few formats it misses. Pure functions over text. Bump
SCANNER_VERSION in secrets.py when these change, so files remembered as clean are scanned again.
"""

from __future__ import annotations

import re

from lessongen.repo.secret_checks import (
    Accept,
    Rule,
    alone,
    always,
    classes,
    discord,
    generated,
    high_entropy,
    key_body,
    make_rule,
    mixed,
    name_of,
    placeholder,
    token,
    url_password,
)

_PEM_BEGIN = r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
_PEM_END = r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----"
_TRIM = r"(?:\s|\\[rn]|[\"'])*"  # newlines, real or escaped, and the quotes of joined string literals
_NL = r"(?:\r?\n|\\n)"
_B64_LINE = r"[A-Za-z0-9+/=]{16,}(?=[\r\n\"'\\]|\Z)"  # a whole line of base64
_END = r"(?![A-Za-z0-9_-])"

# Formats that identify themselves and that the provider scanner misses or names less precisely.
# They win over the provider scanner, which wins over the rules after these; an earlier rule wins too.
FORMATS: tuple[Rule, ...] = (
    make_rule(
        "gcp-service-account",
        r'"private_key"\s*:\s*"' + _PEM_BEGIN + r"(?:\\n)*(?P<v>[A-Za-z0-9+/=\\]+?)(?:\\n)*" + _PEM_END,
        key_body,
        ("service_account",),
    ),
    make_rule(
        "gcp-service-account", r'"private_key_id"\s*:\s*"(?P<v>[0-9a-f]{40})"', always, ("service_account",)
    ),
    # The body may span a triple-quoted string, or string literals joined across lines.
    make_rule(
        "private-key",
        _PEM_BEGIN + _TRIM + r"(?P<v>(?:[A-Za-z0-9+/=:,\s\\\"']|-(?!----))+?)" + _TRIM + _PEM_END,
        key_body,
        ("PRIVATE KEY",),
    ),
    make_rule(  # a block cut short: the base64 lines after the header
        "private-key",
        _PEM_BEGIN + _NL + r"(?P<v>" + _B64_LINE + r"(?:" + _NL + _B64_LINE + r")*)",
        key_body,
        ("PRIVATE KEY",),
    ),
    make_rule(
        "aws-access-key",
        r"(?P<v>A(?:KIA|SIA)[A-Z0-9]{16})(?![A-Z0-9])",
        alone(lambda m: "EXAMPLE" not in m["v"]),
        ("AKIA", "ASIA"),
    ),
    make_rule(
        "azure-storage-key", r"(?:AccountKey|SharedAccessKey)=(?P<v>[A-Za-z0-9+/]{20,}=*)", always, ("Key=",)
    ),
    make_rule("openai-key", r"(?P<v>sk-(?!ant-)[A-Za-z0-9_-]{20,})" + _END, alone(mixed), ("sk-",)),
    make_rule("google-api-key", r"(?P<v>AIza[A-Za-z0-9_-]{35})" + _END, alone(), ("AIza",)),
    make_rule("google-oauth-secret", r"(?P<v>GOCSPX-[A-Za-z0-9_-]{28})" + _END, alone(), ("GOCSPX-",)),
    make_rule("telegram-bot-token", r"(?P<v>\d{8,10}:AA[A-Za-z0-9_-]{33})" + _END, alone(), (":AA",)),
    make_rule(
        "discord-bot-token",
        r"(?P<v>[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})" + _END,
        alone(discord),
        gate=r"\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27}",
    ),
)

# `[?&]` and an optional prefix before a query parameter's name: ?access_token=, &apikey=.
_QUERY_NAME = re.compile(r"[?&](?i:access_|refresh_|id_|auth_|api_|api-|api|client_|session_)?[A-Za-z]+=\Z")

# Where a name that may tell of a secret starts: each is found once per text (secret_text.py), and
# an anchored rule is tried where one of the stems it can start with does. A word a rule looks for
# that holds a stem ("PRIVATE KEY") is then found from that stem's places, not by another search.
STEMS = ("passw", "pwd", "secret", "token", "key", "auth", "credential")

# Credentials the context tells of: in a URL, an HTTP header, a query string, a command line.
CONTEXT: tuple[Rule, ...] = (
    # Anchored at "://"; only the password is taken: scheme://user:password@host.
    make_rule("url-password", r"://[^\s:/@'\"]*:(?P<v>[^\s@/'\"]+)@(?=[\w\[])", url_password, ("://",)),
    make_rule(
        "authorization-header",
        r"(?i:authorization)[\"']?[ \t]*[:=][ \t]*[\"']?(?i:bearer|basic|token|bot|digest)[ \t]+"
        r"(?P<v>[A-Za-z0-9._~+/=-]{8,4096})",
        token,
        ("Authorization", "authorization", "AUTHORIZATION"),
    ),
    make_rule(
        "url-token",
        r"(?i:token|key|secret|password|passwd|pwd)=(?P<v>[^&\s\"'#<>`]{8,4096})",
        lambda m: bool(_QUERY_NAME.search(m.string, max(m.start() - 16, 0), m.start("v"))) and token(m),
        ("token", "key", "secret", "passw", "pwd"),
        anchored=True,
    ),
    make_rule(
        "curl-password",
        r"(?:-u|--user)[ \t]+[\"']?[^\s:\"']{1,256}:(?P<v>[^\s\"'@]{4,256})",
        lambda m: m.string[m.start() - 1 : m.start()].isspace() and url_password(m),
        ("curl",),
    ),
)


ENDS_BARE = r"\s\"'`,;()\[\]{}<>\\"  # what ends an unquoted value
BARE = rf"[^{ENDS_BARE}]"
WIDEST = 4096  # the longest value a named rule takes


def _assigned(width: str = f"{{8,{WIDEST}}}") -> str:
    """The rest of a name, then `= "v"`, `: v`, `": "v"`, `=v`, `:= "v"`, `=> 'v'` or `: str = "v"`."""
    # Every repeat is bounded: an unbounded one backtracks over the rest of a long line at each anchor.
    name_rest = r"[\w.-]{0,64}[\"'\]]{0,2}[ \t]*"
    annotation = r"(?::[ \t]*[A-Za-z_][\w.\[\], |]{0,64}?[ \t]*)?"
    operator = r"(?:=>|:=|=(?!=)|:(?=[ \t\"'`]))[ \t]*"  # YAML and JSON put a space or a quote after ':'
    bare = BARE
    # Quoted up to the same quote (any character but white space), or unquoted up to one a value cannot hold.
    char = r"(?:(?(q)[^\s\"'`\\]|" + bare + "))"
    # Possessive: neither class holds the character that ends the value, so giving some back never helps.
    value = r"(?P<q>[\"'`])?(?P<v>" + char + width + r"+)(?(q)(?P=q)|(?!" + bare + "))"
    return name_rest + annotation + operator + value


# A name that tells of a secret: not author, authorizer or AuthenticationMethod. Matched from one of
# STEMS, so a name ending in "key" is checked for what comes before it (api_key, not monkey).
_SECRET_NAME = r"(?i:passw(?:or)?d|pwd|secret|token|key|auth(?!or|entica)|credential)"
_KEY_NAME = re.compile(r"(?i:api|access|private|signing|encryption|master|secret)[_-]?\Z")


def _secret_name(m: re.Match[str]) -> bool:
    """The name's stem tells of a secret; a bare "key" only after api_, access_, private_ and the like."""
    if m.string[m.start() : m.start() + 3].lower() != "key":
        return True
    return bool(_KEY_NAME.search(m.string, max(m.start() - 12, 0), m.start()))


def _named(test: Accept) -> Accept:
    return lambda m: _secret_name(m) and test(m)


def _aws_secret(m: re.Match[str]) -> bool:
    name = name_of(m).lower()
    return ("aws" in name or "access" in name) and not placeholder(m["v"]) and classes(m["v"]) >= 2


def _azure_secret(m: re.Match[str]) -> bool:
    name = name_of(m).lower()
    return "azure" in name and "client" in name and high_entropy(m)


# A value assigned to a telling name; an earlier rule wins where two take the same value.
NAMED: tuple[Rule, ...] = (
    make_rule(
        "aws-secret-key", r"(?i:secret|key)" + _assigned("{40}"), _named(_aws_secret), ("secret", "key"), True
    ),
    make_rule("azure-client-secret", r"(?i:secret)" + _assigned(), _azure_secret, ("secret",), True),
    # A YAML block scalar: `password: >-` and the value on the indented lines below.
    make_rule(
        "generic-secret",
        _SECRET_NAME + r"[\w.-]{0,64}[\"']?[ \t]*:[ \t]*[>|][-+0-9]{0,2}[ \t]*\r?\n(?P<indent>[ \t]+)"
        r"(?P<v>\S[^\n]{0,4096}(?:\n(?P=indent)[ \t]*\S[^\n]{0,4096}){0,64})",
        _named(lambda m: generated(m["v"].replace("\n", "").replace(" ", ""))),
        STEMS,
        True,
    ),
    make_rule("generic-secret", _SECRET_NAME + _assigned(), _named(high_entropy), STEMS, True),
)
