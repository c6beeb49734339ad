"""A realistic web-shop repository with credentials planted in it, generated at test time.

Every secret-shaped value is built here from a seeded random generator and a provider's prefix, so
nothing shaped like a real credential is committed. `build` writes the tree and returns what it
planted (the fragments that must never be sent) and the ordinary literals that must be sent unchanged.
"""

from __future__ import annotations

import base64
import json
import random
import string
import zlib
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits
ALNUM = LOWER + UPPER + DIGITS
HEX = DIGITS + "abcdef"
B64 = ALNUM + "+/"
URLSAFE = ALNUM + "-_"


@dataclass(frozen=True)
class Plant:
    """One planted credential: its kind, the file it is in, and the fragments that must not be sent."""

    kind: str
    path: str
    fragments: tuple[str, ...]


@dataclass(frozen=True)
class Planted:
    """The generated repository, what was planted in it, and the ordinary literals it also holds."""

    root: Path
    plants: tuple[Plant, ...]
    benign: tuple[str, ...]

    @property
    def kinds(self) -> frozenset[str]:
        """The distinct kinds planted."""
        return frozenset(p.kind for p in self.plants)


class _Maker:
    """Random values in providers' shapes, reproducible from a seed."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def of(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def mixed(self, n: int, alphabet: str = ALNUM) -> str:
        """Random characters holding at least one lower case letter, one upper case letter and one digit."""
        while True:
            value = self.of(alphabet, n)
            if all(any(test(c) for c in value) for test in (str.islower, str.isupper, str.isdigit)):
                return value

    def crc_tail(self, prefix: str, n: int) -> str:
        """`prefix` + n random base62 characters + a 6-character base62 CRC32, as GitHub and npm do."""
        body = self.mixed(n)
        crc = zlib.crc32(body.encode())
        digits = ""
        while crc:
            crc, r = divmod(crc, 62)
            digits = (DIGITS + UPPER + LOWER)[r] + digits
        return prefix + body + digits.rjust(6, "0")

    def password(self) -> str:
        return self.mixed(6) + self.rng.choice("!#%^*") + self.mixed(7)


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _jwt(m: _Maker) -> str:
    head = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).decode().rstrip("=")
    claims = {"sub": m.of(DIGITS, 10), "name": "Ada", "iat": 1700000000 + m.rng.randrange(10**6)}
    body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    return f"{head}.{body}.{m.mixed(43, URLSAFE)}"


def _pem(kind: str, m: _Maker, lines: int = 8) -> tuple[str, str]:
    """A PEM block of random base64 lines, and the body fragment to look for."""
    body = [m.mixed(64, B64) for _ in range(lines)]
    label = f"{kind} PRIVATE KEY"
    return "-----BEGIN " + label + "-----\n" + "\n".join(body) + "\n-----END " + label + "-----\n", body[2]


def _notebook(cells: list[str]) -> str:
    """A Jupyter notebook whose code cells hold `cells`, one source line per list entry."""
    return json.dumps(
        {
            "cells": [
                {
                    "cell_type": "code",
                    "execution_count": i + 1,
                    "metadata": {},
                    "outputs": [],
                    "source": [line + "\n" for line in cell.splitlines()],
                }
                for i, cell in enumerate(cells)
            ],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


def _benign(m: _Maker) -> dict[str, str]:
    """Secret-looking but ordinary literals, each in the file it is planted in."""
    sha1 = m.of(HEX, 40)
    uuid = f"{m.of(HEX, 8)}-{m.of(HEX, 4)}-4{m.of(HEX, 3)}-a{m.of(HEX, 3)}-{m.of(HEX, 12)}"
    return {
        "alphabet": LOWER + UPPER + DIGITS,
        "b64_alphabet": UPPER + LOWER + DIGITS + "-_",
        "uuid_client_id": uuid,
        "sha1": sha1,
        "git_sha": m.of(HEX, 40),
        "sha256_digest": "sha256:" + m.of(HEX, 64),
        "sri": "sha384-" + m.mixed(64, B64),
        "sri_lock": "sha512-" + m.mixed(86, B64) + "==",
        "ssh_fingerprint": "SHA256:" + m.mixed(43, B64),
        "md5_fingerprint": ":".join(m.of(HEX, 2) for _ in range(16)),
        "pgp_fingerprint": " ".join(m.of(HEX.upper(), 4) for _ in range(10)),
        "md5_hash": m.of(HEX, 32),
        "request_uuid": f"{m.of(HEX, 8)}-{m.of(HEX, 4)}-4{m.of(HEX, 3)}-b{m.of(HEX, 3)}-{m.of(HEX, 12)}",
        "pip_hash": "sha256:" + m.of(HEX, 64),
        "gosum": "h1:" + m.mixed(43, B64) + "=",
        "data_uri": "data:image/png;base64,iVBORw0KGgo" + m.mixed(300, B64),
        "bcrypt": "$2b$12$" + m.mixed(53, ALNUM + "./"),
        "token_regex": "[A-Za-z0-9_-]{32,64}",
        "token_type": "urn:ietf:params:oauth:token-type:jwt",
        "secret_ref": "shop-db-credentials",
        "env_template": "${DB_PASSWORD}",
        "page_token": m.mixed(24, URLSAFE),
        "etag": m.of(HEX, 32),
        "commit_short": m.of(HEX, 12),
    }


def build(root: Path, seed: int = 10) -> Planted:
    """Write the repository under `root` and return what it holds."""
    m = _Maker(seed)
    plants: list[Plant] = []
    files: dict[str, str] = {}

    def plant(kind: str, path: str, *fragments: str) -> str:
        plants.append(Plant(kind, path, fragments))
        return fragments[0]

    b = SimpleNamespace(**_benign(m))

    # --- Python source ---------------------------------------------------------------------------
    aws_id = plant("aws-access-key", "shop/settings.py", "AKIA" + m.of(UPPER + "234567", 16))
    aws_secret = plant("aws-secret-key", "shop/settings.py", m.mixed(40, B64))
    db_pw = plant("database-url-password", "shop/settings.py", m.password())
    stripe = plant("stripe-key", "shop/settings.py", "sk_live_" + m.mixed(24))
    django = plant(
        "django-secret-key", "shop/settings.py", "django-insecure-" + m.mixed(40, ALNUM + "!@#%^&*(-_=+)")
    )
    oauth = plant("google-oauth-secret", "shop/settings.py", "GOCSPX-" + m.mixed(28, URLSAFE))
    gh_left, gh_right = "ghp_" + m.mixed(16), m.mixed(20)
    plant("github-token-concatenated", "shop/settings.py", gh_left[4:], gh_right)
    files["shop/settings.py"] = f'''"""Settings of the shop."""

import os

DEBUG = os.environ.get("DEBUG") == "1"
AWS_ACCESS_KEY_ID = "{aws_id}"
AWS_SECRET_ACCESS_KEY = "{aws_secret}"
DATABASES = {{"default": {{"URL": "postgresql://shop:{db_pw}@db.internal:5432/shop"}}}}
PAYMENTS = {{"provider": "stripe", "key": "{stripe}"}}
SECRET_KEY = "{django}"
GOOGLE_OAUTH = ("{m.of(DIGITS, 12)}-{m.of(LOWER + DIGITS, 32)}.apps.googleusercontent.com", "{oauth}")
GITHUB_TOKEN = "{gh_left}" + "{gh_right}"
# Ordinary values that only look like secrets:
TOKEN_ALPHABET = "{b.alphabet}"
AUTH0_CLIENT_ID = "{b.uuid_client_id}"
cache_token_sha1 = "{b.sha1}"
CSRF_TOKEN_LENGTH = 32
PASSWORD_HASH_EXAMPLE = "{b.bcrypt}"
TOKEN_PATTERN = r"{b.token_regex}"
SECRET_ALPHABET = "{b.b64_alphabet}"
'''
    hf = plant("huggingface-token", "shop/ml/hub.py", "hf_" + m.of(LOWER + UPPER, 34))
    discord = plant(
        "discord-bot-token",
        "shop/ml/hub.py",
        _b64(m.of(DIGITS, 18)).rstrip("=") + "." + m.mixed(6, URLSAFE) + "." + m.mixed(38, URLSAFE),
    )
    twilio_sid = m.of(HEX, 32)
    twilio_token = plant("twilio-auth-token", "shop/ml/hub.py", m.of(HEX, 32))
    telegram = plant("telegram-bot-token", "shop/ml/hub.py", m.of(DIGITS, 10) + ":AA" + m.mixed(33, URLSAFE))
    openai = plant(
        "openai-key", "shop/ml/hub.py", "sk-proj-" + m.mixed(74, URLSAFE) + "T3BlbkFJ" + m.mixed(74, URLSAFE)
    )
    files["shop/ml/hub.py"] = f'''"""Clients of the model hub, the chat bots and SMS."""

from huggingface_hub import login

HF_TOKEN = "{hf}"
login(token=HF_TOKEN)


def bots():
    discord = DiscordClient(bot="{discord}")
    telegram = TelegramBot("{telegram}")
    return discord, telegram


twilio = TwilioClient(account_sid="AC{twilio_sid}", auth_token="{twilio_token}")
chat = OpenAI(api_key="{openai}")
revision = "{b.git_sha}"
'''
    # --- JavaScript config --------------------------------------------------------------------
    gkey = plant("google-api-key", "web/src/firebase.js", "AIza" + m.mixed(35, URLSAFE))
    gkey_url = plant("google-api-key-in-url", "web/src/maps.js", "AIza" + m.mixed(35, URLSAFE))
    files["web/src/firebase.js"] = f"""export const firebaseConfig = {{
  apiKey: "{gkey}",
  authDomain: "shop-prod.firebaseapp.com",
  projectId: "shop-prod",
}};
export const requestId = "{b.request_uuid}";
"""
    files["web/src/maps.js"] = (
        "export async function geocode(address) {\n"
        f"  const url = `https://maps.googleapis.com/maps/api/geocode/json?key={gkey_url}&address=${{address}}`;\n"
        "  return (await fetch(url)).json();\n}\n"
    )
    files["web/index.html"] = f"""<!doctype html>
<html><head>
<script src="https://cdn.example.org/lib.min.js" integrity="{b.sri}" crossorigin="anonymous"></script>
</head><body><img src="{b.data_uri}" alt="logo"></body></html>
"""
    files["web/package-lock.snapshot.json"] = json.dumps(
        {"packages": {"node_modules/left-pad": {"version": "1.3.0", "integrity": b.sri_lock}}}, indent=2
    )
    # --- JSON config ---------------------------------------------------------------------------
    sendgrid = plant(
        "sendgrid-key", "config/app.json", "SG." + m.mixed(22, URLSAFE) + "." + m.mixed(43, URLSAFE)
    )
    twilio_key = plant("twilio-api-key", "config/app.json", "SK" + m.of(HEX, 32))
    long_value = plant("long-value", "config/app.json", m.mixed(300, B64))
    files["config/app.json"] = json.dumps(
        {
            "mail": {"provider": "sendgrid", "key": sendgrid},
            "sms": {"apiKeySid": twilio_key, "region": "ie1"},
            "license": {"product": "pdf-export", "licenseToken": long_value},
            "cache": {"etag": b.etag},
        },
        indent=2,
    )
    # --- YAML ----------------------------------------------------------------------------------
    block_pw = plant("yaml-block-scalar", "deploy/helm/values.yaml", m.password() + m.mixed(10))
    mailgun = plant("mailgun-key", "deploy/helm/values.yaml", "key-" + m.of(HEX, 32))
    ssh_key, ssh_frag = _pem("OPENSSH", m)
    plant("private-key", "deploy/helm/values.yaml", ssh_frag)
    ssh_indented = "\n".join("    " + line for line in ssh_key.splitlines())
    files["deploy/helm/values.yaml"] = f"""image:
  repository: registry.example.org/shop
  digest: "{b.sha256_digest}"
database:
  existingSecret: {b.secret_ref}
  password: >-
    {block_pw}
mailgun:
  apiKey: {mailgun}
deployKey: |
{ssh_indented}
"""
    k8s_pw = plant("kubernetes-secret-data", "deploy/k8s/secret.yaml", _b64(m.password()))
    k8s_key = plant("kubernetes-secret-data", "deploy/k8s/secret.yaml", _b64("sk_live_" + m.mixed(24)))
    files["deploy/k8s/secret.yaml"] = f"""apiVersion: v1
kind: Secret
metadata:
  name: shop-db
type: Opaque
data:
  DB_PASSWORD: {k8s_pw}
  PAYMENT_KEY: {k8s_key}
"""
    files["deploy/k8s/deployment.yaml"] = f"""apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop
spec:
  template:
    spec:
      containers:
        - name: shop
          image: registry.example.org/shop@{b.sha256_digest}
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: {b.secret_ref}
                  key: password
"""
    docker_pat = plant("dockerhub-token", ".github/workflows/ci.yml", "dckr_pat_" + m.mixed(27, URLSAFE))
    gitlab = plant("gitlab-token", ".github/workflows/ci.yml", "glpat-" + m.mixed(20, URLSAFE))
    files[".github/workflows/ci.yml"] = f"""name: ci
on: [push]
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      DOCKER_PAT: {docker_pat}
      MIRROR: {gitlab}
    steps:
      - uses: actions/checkout@{b.git_sha}
      - run: make test
"""
    # --- TOML, INI, .properties ---------------------------------------------------------------
    pypi = plant("pypi-token", "pyproject.toml", "pypi-AgEIcHlwaS5vcmc" + m.mixed(120, URLSAFE))
    toml_pw = plant("toml-password", "config/settings.toml", m.password())
    files["pyproject.toml"] = f"""[project]
name = "shop"
version = "1.0.0"

[tool.publish]
repository = "pypi"
credential = "{pypi}"
"""
    files["config/settings.toml"] = f"""[database]
host = "db.internal"
user = "shop"
password = "{toml_pw}"

[cache]
etag = "{b.etag}"
"""
    ini_pw = plant("ini-password", "config/mail.ini", m.password())
    shopify = plant("shopify-token", "config/mail.ini", "shpat_" + m.of(HEX, 32))
    files["config/mail.ini"] = f"""[smtp]
host = smtp.example.org
user = shop
password = {ini_pw}

[shopify]
store = shop-prod
access_token = {shopify}
"""
    props_pw = plant("properties-password", "src/main/resources/application.properties", m.password())
    azure = plant("azure-storage-key", "src/main/resources/application.properties", m.mixed(86, B64) + "==")
    jwt_secret = plant("jwt-signing-secret", "src/main/resources/application.properties", m.mixed(64, B64))
    files[
        "src/main/resources/application.properties"
    ] = f"""spring.datasource.url=jdbc:postgresql://db.internal:5432/shop
spring.datasource.username=shop
spring.datasource.password={props_pw}
azure.storage.connection-string=DefaultEndpointsProtocol=https;AccountName=shopprod;AccountKey={azure};EndpointSuffix=core.windows.net
app.jwt.signing-key={jwt_secret}
app.build.commit={b.commit_short}
"""
    # --- Markdown docs with curl examples ------------------------------------------------------
    bearer = plant("authorization-bearer", "docs/api.md", m.mixed(40, URLSAFE))
    basic_pw = m.password()
    basic = plant("authorization-basic", "docs/api.md", _b64(f"ops:{basic_pw}"))
    query = plant("access-token-query", "docs/api.md", m.mixed(32, URLSAFE))
    url_pw = plant("url-password", "docs/api.md", m.password())
    anthropic = plant("anthropic-key", "docs/api.md", "sk-ant-api03-" + m.mixed(93, URLSAFE) + "AA")
    jwt = plant("jwt", "docs/api.md", _jwt(m))
    files["docs/api.md"] = f"""# Shop API

List orders:

```sh
curl -H "Authorization: Bearer {bearer}" https://api.shop.example/v1/orders
curl -H 'Authorization: Basic {basic}' https://ops.shop.example/metrics
curl "https://api.shop.example/v1/export?format=csv&access_token={query}"
git clone https://deploy:{url_pw}@git.shop.example/shop.git
export ANTHROPIC_API_KEY={anthropic}
```

A session cookie looks like `{jwt}`.

Send `Authorization: Bearer <your token>`, with the token from `${{SHOP_TOKEN}}`.
Responses carry `ETag: "{b.etag}"` and page with `next_page_token: "{b.page_token}"`.
"""
    files["docs/security.md"] = f"""# Keys we trust

The deploy host's key fingerprint is `{b.ssh_fingerprint}` (`{b.md5_fingerprint}` in MD5).
Releases are signed with the key `{b.pgp_fingerprint}`.
The OAuth token type is `{b.token_type}`; the release tarball's MD5 is `{b.md5_hash}`.
"""
    # --- A notebook: values inside JSON strings with escaped quotes ---------------------------
    nb_openai = plant("openai-key-in-notebook", "notebooks/analysis.ipynb", "sk-proj-" + m.mixed(48, URLSAFE))
    nb_bearer = plant("authorization-bearer-in-notebook", "notebooks/analysis.ipynb", m.mixed(40, URLSAFE))
    nb_pw = plant("password-in-notebook", "notebooks/analysis.ipynb", m.password())
    files["notebooks/analysis.ipynb"] = _notebook(
        [
            f'import openai\nopenai.api_key = "{nb_openai}"',
            f'headers = {{"Authorization": "Bearer {nb_bearer}"}}\nresp = requests.get(URL, headers=headers)',
            f'engine = create_engine("mysql://analyst:{nb_pw}@warehouse:3306/sales")',
            f'TOKEN_ALPHABET = "{b.alphabet}"',
        ]
    )
    # --- Dockerfile, shell ---------------------------------------------------------------------
    npm_env = plant("npm-token", "Dockerfile", m.crc_tail("npm_", 30))
    gh_pat = plant("github-fine-grained-token", "Dockerfile", "github_pat_" + m.mixed(22) + "_" + m.mixed(59))
    curl_pw = plant("curl-user-password", "Dockerfile", m.password())
    files["Dockerfile"] = f"""FROM python:3.12-slim@{b.sha256_digest}
ENV NPM_CONFIG_TOKEN={npm_env}
ARG GH_PAT={gh_pat}
RUN curl -fsSL -u admin:{curl_pw} https://nexus.shop.example/repository/raw/tool.tgz | tar xz
RUN pip install --require-hashes -r requirements.txt
"""
    files["docker-compose.yml"] = f"""services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: "{b.env_template}"
"""
    files["requirements.txt"] = f"requests==2.32.3 --hash={b.pip_hash}\n"
    files["go.sum"] = f"github.com/shop/lib v1.2.3 {b.gosum}\n"
    do_token = plant("digitalocean-token", "scripts/deploy.sh", "dop_v1_" + m.of(HEX, 64))
    slack = plant(
        "slack-bot-token", "scripts/deploy.sh", f"xoxb-{m.of(DIGITS, 12)}-{m.of(DIGITS, 13)}-{m.mixed(24)}"
    )
    hook = plant(
        "slack-webhook",
        "scripts/deploy.sh",
        f"T{m.of(UPPER + DIGITS, 10)}/B{m.of(UPPER + DIGITS, 10)}/{m.mixed(24)}",
    )
    export_pw = plant("shell-password", "scripts/deploy.sh", m.password())
    files["scripts/deploy.sh"] = f"""#!/bin/sh
set -eu
export DIGITALOCEAN_ACCESS_TOKEN={do_token}
export SLACK_BOT_TOKEN="{slack}"
export PGPASSWORD='{export_pw}'
doctl kubernetes cluster kubeconfig save shop
curl -X POST -d '{{"text": "deployed"}}' https://hooks.slack.com/services/{hook}
"""
    # --- .npmrc (left out by name) and the copy CI uses ---------------------------------------
    npmrc = plant("npm-token-npmrc", "web/npmrc.ci", m.crc_tail("npm_", 30))
    files["web/npmrc.ci"] = (
        f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={npmrc}\n"
    )
    files["web/.npmrc"] = f"//registry.npmjs.org/:_authToken={m.crc_tail('npm_', 30)}\n"
    # --- A renamed env file and a GCP service account -----------------------------------------
    env_stripe = plant("stripe-key-env-file", "prod.env.example", "sk_live_" + m.mixed(24))
    env_paypal = plant("client-secret-env-file", "prod.env.example", m.mixed(80, URLSAFE))
    files["prod.env.example"] = f"""# Copy to .env
STRIPE_SECRET_KEY={env_stripe}
PAYPAL_CLIENT_SECRET={env_paypal}
SHOP_DB_PASSWORD_REF={b.secret_ref}
"""
    gcp_pem, gcp_frag = _pem("", m)
    plant("gcp-service-account", "deploy/gcp-service-account.json", gcp_frag)
    gcp_key_id = plant("gcp-service-account", "deploy/gcp-service-account.json", m.of(HEX, 40))
    files["deploy/gcp-service-account.json"] = json.dumps(
        {
            "type": "service_account",
            "project_id": "shop-prod",
            "private_key_id": gcp_key_id,
            "private_key": gcp_pem.replace("-----BEGIN  PRIVATE", "-----BEGIN PRIVATE").replace(
                "-----END  PRIVATE", "-----END PRIVATE"
            ),
            "client_email": "deployer@shop-prod.iam.gserviceaccount.com",
        },
        indent=2,
    )
    rsa_pem, rsa_frag = _pem("RSA", m)
    plant("private-key", "shop/tls.py", rsa_frag)
    files["shop/tls.py"] = f'KEY = """{rsa_pem}"""\n'
    # --- Other providers by format, under names that say nothing ------------------------------
    linear = plant("linear-key", "shop/integrations.py", "lin_api_" + m.mixed(40))
    postman = plant("postman-key", "shop/integrations.py", "PMAK-" + m.of(HEX, 24) + "-" + m.of(HEX, 34))
    newrelic = plant("newrelic-key", "shop/integrations.py", "NRAK-" + m.of(UPPER + DIGITS, 27))
    doppler = plant("doppler-token", "shop/integrations.py", "dp.pt." + m.mixed(43))
    gh_app = plant("github-token", "shop/integrations.py", m.crc_tail("ghs_", 30))
    files["shop/integrations.py"] = f'''"""Third-party services the back office talks to."""

SERVICES = [
    ("linear", "{linear}"),
    ("postman", "{postman}"),
    ("newrelic", "{newrelic}"),
    ("doppler", "{doppler}"),
    ("github-app", "{gh_app}"),
]
'''
    # --- Secrets in file names and folder names -----------------------------------------------
    name_token = plant("github-token-in-file-name", "", m.crc_tail("ghp_", 30))
    name_slack = plant(
        "slack-token-in-folder-name",
        "",
        f"xoxp-{m.of(DIGITS, 12)}-{m.of(DIGITS, 12)}-{m.of(DIGITS, 12)}-{m.of(HEX, 32)}",
    )
    files[f"exports/{name_token}.json"] = '{"orders": []}\n'
    files[f"exports/{name_slack}/notes.md"] = "Export notes.\n"
    files["README.md"] = "# shop\n\nA web shop: Django back end, a JS front end, Helm charts.\n"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    plants = [p if p.path else Plant(p.kind, "(path)", p.fragments) for p in plants]
    return Planted(root, tuple(plants), tuple(vars(b).values()))
