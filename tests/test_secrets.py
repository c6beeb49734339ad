"""Secret scanning: each kind found on its line and redacted in place, the policies, and false alarms.

Every fake secret is built at run time from pieces, so no literal here looks like a real one (the
pre-commit hook greps added lines for key shapes; test_this_file_holds_no_secret_shaped_literal checks).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import string
import threading
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from lessongen.errors import ExitCode, UsageError
from lessongen.repo.secret_worker import BackgroundScanner
from lessongen.repo.secrets import (
    SecretFinding,
    SecretScanner,
    SecretsMode,
    SecretsResult,
    apply_secrets_policy,
    describe,
    redact,
    redact_paths,
)
from lessongen.shared.data import SkippedPath, SourceFile

BASE62 = string.ascii_letters + string.digits
BASE64 = BASE62 + "+/"


def fake(alphabet: str, n: int, seed: str) -> str:
    """`n` characters that look random, the same on every run."""
    rnd = random.Random(seed)
    return "".join(rnd.choice(alphabet) for _ in range(n))


def b64url(data: dict[str, str]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


PEM_BEGIN = "-----BEGIN " + "{}PRIVATE" + " KEY-----"
PEM_END = "-----END " + "{}PRIVATE" + " KEY-----"
PEM_BODY = (
    "\n".join(fake(BASE64, 64, f"pem{i}") for i in range(4)) + "\n" + fake(BASE64, 20, "pem-end") + "=="
)
SK = "sk" + "-"  # the OpenAI and Anthropic prefix
AKIA = "AK" + "IA"
JWT = ".".join(
    (b64url({"alg": "HS256", "typ": "JWT"}), b64url({"sub": "1234567890"}), fake(BASE62, 43, "sig"))
)


def found(path: str, text: str, scanner: SecretScanner) -> tuple[SecretFinding, ...]:
    """The findings in `text` at `path`, in order."""
    return redact(text, path, scanner)[1]


def source(path: str, text: str, note: str = "") -> SourceFile:
    data = text.encode()
    return SourceFile(path, text, hashlib.blake2b(data, digest_size=16).hexdigest(), len(data), note)


# --- every kind: found on its line, value replaced, the rest of the line kept ---------------------------


@dataclass(frozen=True)
class Case:
    """One secret in one syntax: the text on its line is `before + value + after`."""

    kind: str
    path: str
    before: str
    value: str
    after: str = ""

    @property
    def text(self) -> str:
        return f"# settings\nimport os\n{self.before}{self.value}{self.after}\nprint('done')\n"


CASES = [
    Case(
        "aws-access-key",
        "aws.py",
        'AWS_ACCESS_KEY_ID = "',
        AKIA + fake(string.ascii_uppercase + string.digits, 16, "a"),
        '"  # ci',
    ),
    Case(
        "aws-access-key",
        "sts.json",
        '{"AccessKeyId": "',
        "AS" + "IA" + fake(string.ascii_uppercase, 16, "b"),
        '"}',
    ),
    Case("aws-secret-key", "aws.py", 'aws_secret_access_key = "', fake(BASE64, 40, "c"), '"'),
    Case("aws-secret-key", "credentials.ini", "aws_secret_access_key = ", fake(BASE64, 40, "d")),
    Case(
        "aws-secret-key",
        "s3.js",
        "const client = new S3({ secretAccessKey: '",
        fake(BASE64, 40, "e"),
        "' });",
    ),
    Case(
        "azure-storage-key",
        "storage.cfg",
        "conn = DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=",
        fake(BASE64, 86, "f") + "==",
        ";EndpointSuffix=core.windows.net",
    ),
    Case("azure-client-secret", "azure.py", 'AZURE_CLIENT_SECRET = "', fake(BASE62 + "~._-", 40, "g"), '"'),
    Case("github-pat", "gh.py", 'GITHUB_TOKEN = "', "ghp_" + fake(BASE62, 36, "h"), '"'),
    Case(
        "curl-auth-header", "gh.sh", "curl -H 'Authorization: token ", "gho_" + fake(BASE62, 36, "i"), "' api"
    ),
    Case(
        "github-fine-grained-pat",
        "gh.yml",
        "token: ",
        "github_pat_" + fake(BASE62, 22, "j") + "_" + fake(BASE62, 59, "k"),
    ),
    Case(
        "gitlab-pat",
        "gl.py",
        'headers = {"PRIVATE-TOKEN": "',
        "glpat-" + fake(BASE62 + "_-", 20, "l"),
        '"}',
    ),
    Case(
        "slack-bot-token",
        "slack.py",
        'client = WebClient(token="',
        "xoxb-" + "123456789012-" + "1234567890123-" + fake(BASE62, 24, "m"),
        '")',
    ),
    Case(
        "slack-user-token",
        "slack.py",
        'user = "',
        "xoxp-"
        + fake(string.digits, 12, "n")
        + "-"
        + fake(string.digits, 12, "n2")
        + "-"
        + fake(string.digits, 12, "n3")
        + "-"
        + fake("0123456789abcdef", 32, "o"),
        '"',
    ),
    Case(
        "slack-webhook-url",
        "notify.py",
        'URL = "',
        "https://hooks.slack.com/services/T0"
        + fake(string.ascii_uppercase, 8, "p")
        + "/B0"
        + fake(string.ascii_uppercase, 8, "q")
        + "/"
        + fake(BASE62, 24, "r"),
        '"',
    ),
    Case("stripe-access-token", "pay.py", 'stripe.api_key = "', "sk_" + "live_" + fake(BASE62, 24, "s"), '"'),
    Case("stripe-access-token", "pay.py", 'RESTRICTED = "', "rk_" + "live_" + fake(BASE62, 24, "t"), '"'),
    Case(
        "openai-key", "ai.py", 'client = OpenAI(api_key="', SK + "proj-" + fake(BASE62 + "_-", 120, "v"), '")'
    ),
    Case("openai-key", "ai.env.txt", "OPENAI_API_KEY=", SK + fake(BASE62, 48, "w")),
    Case(
        "anthropic-api-key",
        "claude.py",
        'client = Anthropic(api_key="',
        SK + "ant-api03-" + fake(BASE62 + "_-", 93, "x") + "AA",
        '")',
    ),
    Case("jwt", "auth.js", 'const session = "', JWT, '";'),
    Case("jwt", "auth.http", "Authorization: Bearer ", JWT),
    Case(
        "generic-credential-uri",
        "db.yml",
        "url: postgres://app:",
        fake(BASE62, 14, "y"),
        "@db.internal:5432/app",
    ),
    Case("url-password", "db.py", 'URL = "postgresql+psycopg2://app:', fake(BASE62, 14, "z"), '@db/app"'),
    Case(
        "generic-credential-uri",
        "db.py",
        'URL = "mysql://root:',
        "p%40" + fake(BASE62, 10, "A"),
        '@localhost/shop"',
    ),
    Case(
        "mongodb-connection-string",
        "db.py",
        'MONGO = "',
        "mongodb+srv://svc:" + fake(BASE62, 16, "B") + "@cluster0.example.net/x",
        '"',
    ),
    Case(
        "generic-credential-uri",
        "cache.ini",
        "broker = redis://:",
        fake(BASE62, 12, "C"),
        "@localhost:6379/0",
    ),
    Case(
        "generic-credential-uri",
        "queue.toml",
        'broker = "amqp://guest:',
        fake(BASE62, 12, "D"),
        '@rabbit:5672//"',
    ),
    Case("url-password", "app.py", 'url = "https://user:', fake(BASE62, 12, "http"), '@example.com/"'),
    Case("generic-secret", "app.py", 'password = "', fake(BASE62, 10, "E") + "1aA", '"'),
    Case("generic-secret", "app.py", 'API_TOKEN: str = "', fake("0123456789abcdef", 32, "F"), '"'),
    Case("generic-secret", "app.py", "config['secret'] = '", fake(BASE62 + "#$!", 24, "G"), "'"),
    Case("generic-secret", "app.py", 'connect(host="db", password="', fake(BASE62, 20, "H"), '", port=5432)'),
    Case("generic-secret", "app.ts", "const apiKey = `", fake(BASE62, 32, "I"), "`;"),
    Case("generic-secret", "main.go", 'authToken := "', fake(BASE62, 32, "J"), '"'),
    Case("generic-secret", "conf.php", "'db_password' => '", fake(BASE62, 18, "K"), "',"),
    Case("generic-secret", "config.yaml", "  api_key: ", fake(BASE62, 28, "L") + "7"),
    Case("generic-secret", "config.yaml", "  client_secret: '", fake(BASE64, 32, "M"), "'"),
    Case("generic-secret", "settings.json", '{"accessKey": "', fake(BASE62, 24, "N"), '", "region": "eu"}'),
    Case("generic-secret", "pyproject.toml", 'private_key = "', fake(BASE64, 44, "O"), '"'),
    Case("generic-secret", "app.ini", "credential=", fake(BASE62, 20, "P") + "9"),
    Case("generic-secret", "deploy.sh", "export DEPLOY_TOKEN=", fake(BASE62, 30, "Q") + "3"),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}:{c.path}:{i}" for i, c in enumerate(CASES)])
def test_each_kind_is_found_on_its_line_and_its_value_replaced(
    case: Case, secret_scanner: SecretScanner
) -> None:
    assert found(case.path, case.text, secret_scanner) == (SecretFinding(case.path, 3, case.kind),)
    redacted, findings = redact(case.text, case.path, secret_scanner)
    assert findings == (SecretFinding(case.path, 3, case.kind),)
    assert redacted == case.text.replace(case.value, f"[REDACTED:{case.kind}]")
    assert case.value not in redacted


@pytest.mark.parametrize("case", CASES, ids=[f"{c.kind}:{c.path}:{i}" for i, c in enumerate(CASES)])
def test_the_value_never_reaches_a_finding_a_skip_or_an_error(
    case: Case, secret_scanner: SecretScanner
) -> None:
    findings = found(case.path, case.text, secret_scanner)
    assert [f.name for f in fields(SecretFinding)] == ["path", "line", "kind"]
    assert case.value not in repr(findings) and case.value not in str(findings)
    skipped = apply_secrets_policy(
        [source(case.path, case.text)], SecretsMode.SKIP_FILE, secret_scanner
    ).skipped
    assert case.value not in repr(skipped)
    with pytest.raises(UsageError) as raised:
        apply_secrets_policy([source(case.path, case.text)], SecretsMode.FAIL, secret_scanner)
    error = raised.value
    assert case.value not in f"{error} {error.hint} {error.one_line()} {error.args!r}"


def test_a_private_key_block_loses_its_body_and_keeps_its_lines(secret_scanner: SecretScanner) -> None:
    begin, end = PEM_BEGIN.format("RSA "), PEM_END.format("RSA ")
    text = f'x = 1\nKEY = """{begin}\n{PEM_BODY}\n{end}"""\ny = 2\n'
    redacted, findings = redact(text, "keys.py", secret_scanner)
    assert findings == (SecretFinding("keys.py", 3, "private-key"),)
    assert redacted == f'x = 1\nKEY = """{begin}\n[REDACTED:private-key]\n\n\n\n\n{end}"""\ny = 2\n'
    assert redacted.count("\n") == text.count("\n")  # line numbers of the lesson still point right
    assert not any(line in redacted for line in PEM_BODY.splitlines())


def test_a_private_key_in_joined_string_literals_keeps_the_code_valid(secret_scanner: SecretScanner) -> None:
    begin, end = PEM_BEGIN.format(""), PEM_END.format("")
    lines = PEM_BODY.splitlines()
    text = "KEY = (\n" + "".join(f'    "{line}\\n"\n' for line in [begin, *lines, end]) + ")\n"
    redacted, findings = redact(text, "keys.py", secret_scanner)
    assert findings == (SecretFinding("keys.py", 3, "private-key"),)
    compile(redacted, "keys.py", "exec")
    assert redacted.count("\n") == text.count("\n")
    assert "[REDACTED:private-key]" in redacted and not any(line in redacted for line in lines)


def test_an_openssh_key_cut_short_is_still_redacted(secret_scanner: SecretScanner) -> None:
    text = PEM_BEGIN.format("OPENSSH ") + "\n" + PEM_BODY + "\n"
    redacted, findings = redact(text, "id_key.txt", secret_scanner)
    assert findings == (SecretFinding("id_key.txt", 2, "private-key"),)
    assert redacted.startswith(PEM_BEGIN.format("OPENSSH ") + "\n[REDACTED:private-key]\n")
    assert not any(line in redacted for line in PEM_BODY.splitlines())


def test_a_gcp_service_account_file_has_its_key_and_key_id_redacted(secret_scanner: SecretScanner) -> None:
    key_id = fake("0123456789abcdef", 40, "key-id")
    pem = PEM_BEGIN.format("") + "\n" + PEM_BODY + "\n" + PEM_END.format("") + "\n"
    account = {"type": "service_account", "project_id": "demo", "private_key_id": key_id, "private_key": pem}
    text = json.dumps(account, indent=2) + "\n"
    redacted, findings = redact(text, "sa.json", secret_scanner)
    assert findings == (
        SecretFinding("sa.json", 4, "gcp-service-account"),
        SecretFinding("sa.json", 5, "gcp-service-account"),
    )
    assert key_id not in redacted and not any(line in redacted for line in PEM_BODY.splitlines())
    data = json.loads(redacted)  # still valid JSON with the same keys
    assert data["private_key_id"] == "[REDACTED:gcp-service-account]"
    assert data["private_key"].startswith(PEM_BEGIN.format("") + "\n[REDACTED:gcp-service-account]\n")
    assert data["type"] == "service_account"


def test_several_secrets_are_listed_in_order_with_their_lines(secret_scanner: SecretScanner) -> None:
    github, aws = "ghp_" + fake(BASE62, 36, "gh2"), AKIA + fake(string.ascii_uppercase, 16, "ak2")
    text = f'a = "{aws}"\n\nb = "{github}"; c = "{aws}"\n'
    assert found("many.py", text, secret_scanner) == (
        SecretFinding("many.py", 1, "aws-access-key"),
        SecretFinding("many.py", 3, "github-pat"),
        SecretFinding("many.py", 3, "aws-access-key"),
    )
    assert redact(text, "many.py", secret_scanner)[0] == (
        'a = "[REDACTED:aws-access-key]"\n\nb = "[REDACTED:github-pat]"; c = "[REDACTED:aws-access-key]"\n'
    )


def test_a_known_format_wins_over_the_name_it_is_assigned_to(secret_scanner: SecretScanner) -> None:
    token = "ghp_" + fake(BASE62, 36, "named")
    assert found("a.py", f'password = "{token}"\n', secret_scanner) == (
        SecretFinding("a.py", 1, "github-pat"),
    )


def test_offsets_hold_after_characters_that_change_length_when_lower_cased(
    secret_scanner: SecretScanner,
) -> None:
    token = "glpat-" + fake(BASE62, 20, "unicode")
    text = f'İstanbul = "ΣΑΣ ✓ 日本"  # İİ\nTOKEN = "{token}"  # ẞ\n'
    assert redact(text, "u.py", secret_scanner) == (
        'İstanbul = "ΣΑΣ ✓ 日本"  # İİ\nTOKEN = "[REDACTED:gitlab-pat]"  # ẞ\n',
        (SecretFinding("u.py", 2, "gitlab-pat"),),
    )


def test_redacted_text_has_nothing_left_to_find(secret_scanner: SecretScanner) -> None:
    text = "\n".join(case.text for case in CASES)
    redacted, findings = redact(text, "all.txt", secret_scanner)
    assert len(findings) == len(CASES)
    assert redact(redacted, "all.txt", secret_scanner) == (redacted, ())


def test_results_are_the_same_on_every_run(secret_scanner: SecretScanner) -> None:
    text = "\n".join(case.text for case in CASES)
    assert found("all.txt", text, secret_scanner) == found("all.txt", text, secret_scanner)
    assert redact(text, "all.txt", secret_scanner) == redact(text, "all.txt", secret_scanner)


def test_an_unquoted_value_counts_in_config_files_but_not_in_code(secret_scanner: SecretScanner) -> None:
    line = f"api_key = {fake(BASE62, 24, 'unquoted')}7\n"
    assert found("settings.ini", line, secret_scanner) == (
        SecretFinding("settings.ini", 1, "generic-secret"),
    )
    assert found("settings.py", line, secret_scanner) == ()  # in code, the right-hand side is an expression


# --- false alarms ------------------------------------------------------------------------------------

FALSE_ALARMS = [
    'password = "changeme"',
    'password = ""',
    'password = "short1A"',
    'api_key = "<your-key>"',
    'API_KEY = "your-api-key-here"',
    'token = "${GITHUB_TOKEN}"',
    "password: ${{ secrets.PASSWORD }}",
    'secret = "{{ vault_secret }}"',
    'password = "%(db_password)s"',
    'password = os.environ["DB_PASSWORD"]',
    'secret = os.getenv("SECRET")',
    "api_key = process.env.API_KEY",
    "token = tokens[0]",
    "auth = base64.b64encode(raw).decode()",
    "pwd = os.getcwd()",
    "api_key = get_key(name='prod')",
    'if password == "' + fake(BASE62, 20, "cmp") + '":',
    'token_type = "bearer"',
    'password_field = "password_confirmation"',
    'secret_name = "my-app-secret-name"',
    'TOKEN_URL = "https://oauth2.googleapis.com/token"',
    'token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token"',
    'GRANT = "urn:ietf:params:oauth:grant-type:token-exchange"',
    'tokenizer = "meta-llama/Llama-2-7b-hf"',
    '__author_email__ = "someone@example.org"',
    '"NextToken": "' + b64url({"NextToken": "abc", "offset": "10"}) + '"',
    '"ClientToken": "4752b573-40a6-4eac-a8a4-a72058761219"',
    '"SecretArn": "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-a1b2c3"',
    '"PasswordLastUsed": "2016-09-24T16:18:07Z"',
    'credential_source = "Ec2InstanceMetadata"',
    '"authorizerName": "CustomAuthorizer3"',
    'secret = "' + "x" * 24 + '"',
    'token = "' + "0" * 16 + '"',
    'password = "' + "a" * 18 + '1"',
    'api_key = "' + fake("0123456789abcdef", 16, "short-hex") + '"',
    'ACCESS_KEY = "' + AKIA + "IOSFODNN7EXAMPLE" + '"',
    'name = "ta' + SK + 'management-service-name-long"',
    'model = "' + SK + 'learn-something-long-name"',
    'url = "postgres://user:password@localhost/db"',
    'url = "postgres://postgres:postgres@localhost/db"',
    'url = "postgres://app:${DB_PASSWORD}@localhost/db"',
    'url = "postgres://app@localhost:5432/db"',
    'doc = "' + PEM_BEGIN.format("") + " ... " + PEM_END.format("") + '"',
    "# set the token: run `gh auth token` and paste it",
    "password: !vault |",
]


@pytest.mark.parametrize("line", FALSE_ALARMS)
def test_placeholders_expressions_and_words_stay_untouched(line: str, secret_scanner: SecretScanner) -> None:
    text = f"x = 1\n{line}\ny = 2\n"
    assert found("conf.py", text, secret_scanner) == ()
    assert redact(text, "conf.py", secret_scanner) == (text, ())


def test_a_megabyte_of_ordinary_code_is_scanned_without_findings(secret_scanner: SecretScanner) -> None:
    chunk = "\n".join(
        (
            "def refresh(session, tokens, password_prompt=getpass.getpass):",
            '    """Renew the auth token; see https://example.com/docs/auth#token for details."""',
            "    token = tokens[index]",
            "    secret_name = f'{prefix}-secret'",
            '    headers = {"Authorization": f"Bearer {token}"}',
            "    checksum = 'a3f5c2e1'  # sha of the payload",
            "    url = f'postgres://{user}@{host}/{db}'",
            '    return session.post(url, headers=headers, data={"api_key": api_key})',
            "",
        )
    )
    text = chunk * (1_000_000 // len(chunk) + 1)
    assert len(text) > 1_000_000
    assert found("big.py", text, secret_scanner) == ()


def test_long_runs_of_trigger_words_complete(secret_scanner: SecretScanner) -> None:
    # Unbounded repeats would make these quadratic: one pattern attempt per keyword, each over the line.
    for text in ("token" * 20_000, "password: " * 20_000, "token_" + "x" * 200_000, SK * 20_000):
        assert found("x.txt", text, secret_scanner) == ()


@pytest.mark.parametrize(
    "hostile",
    ["key=" * 50_000, "?access_token=" * 15_000, ("token=" * 40 + "\n") * 1_000, "x_secret_" * 20_000],
    ids=["key=key=", "access_token", "token-lines", "one-long-name"],
)
def test_a_hostile_line_of_assignments_completes_and_a_secret_after_it_is_found(
    hostile: str, secret_scanner: SecretScanner
) -> None:
    # Every anchor starts a value thousands of characters long: each is read once, not from every anchor
    # inside it (this took minutes per megabyte).
    value = fake(BASE62, 32, "after-hostile")
    text = f"{hostile}\napi_key = '{value}'\n"
    redacted, findings = redact(text, "settings.env", secret_scanner)
    assert value not in redacted
    assert text.count("\n", 0, text.index(value)) + 1 in [f.line for f in findings]


def test_a_secret_at_the_end_of_an_overlong_run_or_inside_a_harmless_value_is_found(
    secret_scanner: SecretScanner,
) -> None:
    value = fake(BASE62, 32, "run-end")
    for text in (
        "x" * 10_000 + f"api_key={value}",  # no break in 10,000 characters, then the value at the end
        "x" * 10_000 + f"api_key={value};" + "y" * 10_000,
        f"AUTH_HEADER=x-api-key={value}\n",  # a harmless name's value holds an assignment of a secret
    ):
        redacted, findings = redact(text, "settings.env", secret_scanner)
        assert value not in redacted and findings, text[-60:]


# --- the policy over files ---------------------------------------------------------------------------


def sample_files() -> tuple[SourceFile, SourceFile, SourceFile]:
    clean = source("src/clean.py", "def add(a, b):\n    return a + b\n")
    aws = source("src/aws.py", CASES[0].text, note="1 invalid UTF-8 byte(s) replaced")
    github = source("deploy/ci.yml", f"env:\n  TOKEN: {CASES[7].value}\n  OTHER: {CASES[8].value}\n")
    return clean, aws, github


def test_redact_mode_sends_redacted_text_under_a_new_digest(secret_scanner: SecretScanner) -> None:
    clean, aws, github = sample_files()
    result = apply_secrets_policy([clean, aws, github], SecretsMode.REDACT, secret_scanner)
    assert isinstance(result, SecretsResult)
    assert result.skipped == ()
    assert result.findings == (
        SecretFinding("src/aws.py", 3, "aws-access-key"),
        SecretFinding("deploy/ci.yml", 2, "github-pat"),
        SecretFinding("deploy/ci.yml", 3, "github-oauth"),
    )
    sent_clean, sent_aws, sent_github = result.files
    assert sent_clean is clean
    assert sent_aws.path == aws.path and sent_aws.size == aws.size
    assert (
        sent_aws.text == redact(aws.text, aws.path, secret_scanner)[0] and CASES[0].value not in sent_aws.text
    )
    assert (
        sent_aws.digest == hashlib.blake2b(sent_aws.text.encode(), digest_size=16).hexdigest() != aws.digest
    )
    assert sent_aws.note == "1 invalid UTF-8 byte(s) replaced; 1 secret(s) redacted"
    assert sent_github.note == "2 secret(s) redacted"
    assert sent_github.text == "env:\n  TOKEN: [REDACTED:github-pat]\n  OTHER: [REDACTED:github-oauth]\n"
    assert sent_github.line_count == github.line_count


def test_skip_file_mode_leaves_out_each_file_with_a_secret_and_says_where(
    secret_scanner: SecretScanner,
) -> None:
    clean, aws, github = sample_files()
    result = apply_secrets_policy([clean, aws, github], SecretsMode.SKIP_FILE, secret_scanner)
    assert result.files == (clean,)
    assert result.skipped == (
        SkippedPath("src/aws.py", "secret found", "aws-access-key on line 3"),
        SkippedPath("deploy/ci.yml", "secret found", "github-pat on line 2; github-oauth on line 3"),
    )
    assert len(result.findings) == 3


def test_fail_mode_refuses_with_one_line_that_names_the_files_and_the_way_out(
    secret_scanner: SecretScanner,
) -> None:
    clean, aws, github = sample_files()
    with pytest.raises(UsageError) as raised:
        apply_secrets_policy([clean, aws, github], SecretsMode.FAIL, secret_scanner)
    error = raised.value
    assert error.exit_code is ExitCode.USAGE
    assert error.one_line() == (
        "3 secret(s) (aws-access-key, github-oauth, github-pat) found in 2 file(s): src/aws.py, deploy/ci.yml "
        "(pass --secrets redact to send them with the values replaced, or --secrets skip-file to leave "
        "those files out)"
    )
    assert "\n" not in error.one_line()


def test_fail_mode_lists_at_most_five_files(secret_scanner: SecretScanner) -> None:
    files = [source(f"f{i}.py", CASES[0].text) for i in range(7)]
    with pytest.raises(
        UsageError, match=r"found in 7 file\(s\): f0.py, f1.py, f2.py, f3.py, f4.py and 2 more"
    ):
        apply_secrets_policy(files, SecretsMode.FAIL, secret_scanner)


def test_fail_mode_without_findings_passes_the_files_through(secret_scanner: SecretScanner) -> None:
    clean = sample_files()[0]
    assert apply_secrets_policy([clean], SecretsMode.FAIL, secret_scanner) == SecretsResult((clean,), (), ())


def test_off_mode_sends_everything_unscanned(secret_scanner: SecretScanner) -> None:
    files = sample_files()
    assert apply_secrets_policy(files, SecretsMode.OFF, secret_scanner) == SecretsResult(files, (), ())


def test_modes_are_the_flag_values() -> None:
    assert [m.value for m in SecretsMode] == ["redact", "skip-file", "fail", "off"]
    assert SecretsMode("skip-file") is SecretsMode.SKIP_FILE


def test_describe_caps_long_line_lists() -> None:
    findings = [SecretFinding("a", n, "jwt") for n in range(1, 9)] + [SecretFinding("a", 20, "stripe-key")]
    assert describe(findings) == "jwt on lines 1, 2, 3, 4, 5 and 3 more; stripe-key on line 20"


def test_this_file_holds_no_secret_shaped_literal() -> None:
    hook = re.compile(r"sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|-----BEGIN [A-Z ]*PRIVATE KEY-----")
    assert hook.findall(Path(__file__).read_text(encoding="utf-8")) == []


# --- views, paths and the scanner's worker -----------------------------------------------------------


def test_a_value_inside_a_json_string_is_found_with_its_escapes_undone(secret_scanner: SecretScanner) -> None:
    token = "ghp_" + fake(BASE62, 36, "nb")
    cell = {
        "cell_type": "code",
        "source": [f'headers = {{"Authorization": "Bearer {fake(BASE62, 40, "b")}"}}\n'],
    }
    text = json.dumps({"cells": [cell, {"source": [f'gh = Github("{token}")\n']}]}, indent=1) + "\n"
    redacted, findings = redact(text, "nb.ipynb", secret_scanner)
    assert [f.kind for f in findings] == ["authorization-header", "github-pat"]
    assert token not in redacted and fake(BASE62, 40, "b") not in redacted
    assert json.loads(redacted)["cells"][1]["source"] == ['gh = Github("[REDACTED:github-pat]")\n']
    assert redacted.count("\n") == text.count("\n")


def test_a_secret_split_across_joined_literals_is_redacted_and_the_code_still_compiles(
    secret_scanner: SecretScanner,
) -> None:
    left, right = "ghp_" + fake(BASE62, 16, "l"), fake(BASE62, 20, "r")
    for text in (f'TOKEN = "{left}" + "{right}"\n', f'TOKEN = (\n    "{left}"\n    "{right}"\n)\n'):
        redacted, findings = redact(text, "split.py", secret_scanner)
        assert [f.kind for f in findings] == ["github-pat"], text
        assert left[4:] not in redacted and right not in redacted
        compile(redacted, "split.py", "exec")
        assert redacted.count("\n") == text.count("\n")


def test_kubernetes_secret_data_and_yaml_block_scalars_are_redacted(secret_scanner: SecretScanner) -> None:
    data = base64.b64encode(fake(BASE62, 18, "k8s").encode()).decode()
    block = fake(BASE62, 12, "blk") + "7aA"
    text = (
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: {data}\n"
        f"---\nsettings:\n  db_password: >-\n    {block}\n  host: db\n"
    )
    redacted, findings = redact(text, "k8s.yaml", secret_scanner)
    assert [(f.line, f.kind) for f in findings] == [(6, "kubernetes-secret"), (10, "generic-secret")]
    assert data not in redacted and block not in redacted and "host: db" in redacted


def test_a_secret_in_a_file_name_is_redacted_in_the_path_or_holds_the_file_back(
    secret_scanner: SecretScanner,
) -> None:
    token = "ghp_" + fake(BASE62, 36, "name")
    named = source(f"exports/{token}.json", "{}\n")
    result = apply_secrets_policy([named], SecretsMode.REDACT, secret_scanner)
    assert [f.path for f in result.files] == ["exports/[REDACTED:github-pat].json"]
    assert result.findings == (SecretFinding("exports/[REDACTED:github-pat].json", 0, "github-pat"),)
    assert result.files[0].text == named.text and result.files[0].note == "1 secret(s) redacted in the path"
    held = apply_secrets_policy([named], SecretsMode.SKIP_FILE, secret_scanner)
    assert held.files == () and held.skipped == (
        SkippedPath("exports/[REDACTED:github-pat].json", "secret found", "github-pat in the path"),
    )
    with pytest.raises(UsageError) as raised:
        apply_secrets_policy([named], SecretsMode.FAIL, secret_scanner)
    assert token not in raised.value.one_line() and "[REDACTED:github-pat]" in raised.value.one_line()


def test_findings_in_many_paths_stay_with_their_own_path(secret_scanner: SecretScanner) -> None:
    # The paths are scanned joined; each path must get exactly the findings that fall inside it,
    # whether it holds none, one or two, next to paths that hold some (and one with a newline).
    tokens = ["ghp_" + fake(BASE62, 36, f"path{i}") for i in range(40)]
    paths = []
    for i, token in enumerate(tokens):
        paths += [f"pkg{i}/mod.py", f"pkg{i}/{token}.json", f"{token}/{tokens[i - 1]}.txt"]
    paths.insert(7, "odd\nname.py")
    names = redact_paths(paths, secret_scanner)
    for path in paths:
        assert names[path] == redact_paths([path], secret_scanner)[path]
    assert names["pkg3/mod.py"] == ("pkg3/mod.py", ())
    assert names[f"pkg3/{tokens[3]}.json"] == ("pkg3/[REDACTED:github-pat].json", ("github-pat",))
    assert names[f"{tokens[3]}/{tokens[2]}.txt"][1] == ("github-pat", "github-pat")
    assert not any(token in name for name, _ in names.values() for token in tokens)


def test_the_worker_finds_what_this_process_finds(secret_scanner: SecretScanner) -> None:
    files = [source(c.path + str(i), c.text) for i, c in enumerate(CASES)] + list(sample_files())
    paths = [f.path for f in files] + [f"exports/ghp_{fake(BASE62, 36, 'w')}.json"]
    expected = ({f.path: r for f in files if (r := redact(f.text, f.path, secret_scanner))[1]},)
    expected += (redact_paths(paths, secret_scanner),)
    with BackgroundScanner(secret_scanner) as scanning:
        assert scanning._pid  # forked: no other thread runs in the test
        for file in files:
            scanning.add(file)
        assert scanning.finish(paths) == expected
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        with BackgroundScanner(secret_scanner) as scanning:  # a thread runs: scanned in this process
            assert not scanning._pid
            for file in files:
                scanning.add(file)
            assert scanning.finish(paths) == expected
    finally:
        stop.set()
        other.join()
