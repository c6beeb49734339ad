"""Planted secrets never leave the machine: checked on every request the fake server received."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_openai import FakeServer
from typer.testing import CliRunner

from lessongen.cli import app

# Built at run time from pieces: nothing shaped like a real secret is committed.
AWS_KEY = "AKIA" + "Z7Q2" * 4
GITHUB = "ghp_" + "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dF3hJ5"
OPENAI = "sk-" + "proj-" + "Xy7" * 12
DB_PASSWORD = "pw" + "T9x" * 5 + "q"
PRIVATE_BODY = "MIIEow" + "IBAAKCAQEA7" * 6
VALUES = (AWS_KEY, GITHUB, OPENAI, DB_PASSWORD, PRIVATE_BODY)


def planted(root: Path) -> Path:
    (root / "app").mkdir(parents=True)
    (root / "README.md").write_text("# app\n\nA service.\n")
    (root / "app" / "settings.py").write_text(
        f'AWS_ACCESS_KEY_ID = "{AWS_KEY}"\n'
        f'GITHUB_TOKEN = "{GITHUB}"\n'
        f'DATABASE_URL = "postgres://app:{DB_PASSWORD}@db.internal:5432/app"\n'
        "\n\ndef debug():\n    return True\n"
    )
    (root / "app" / "client.py").write_text(
        f'import os\n\nOPENAI_KEY = "{OPENAI}"\n\n\ndef key():\n    return OPENAI_KEY\n'
    )
    begin, end = "-----BEGIN RSA " + "PRIVATE KEY-----", "-----END RSA " + "PRIVATE KEY-----"
    (root / "app" / "keys.py").write_text(f'KEY = """{begin}\n{PRIVATE_BODY}\n{end}"""\n')
    return root


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "120", **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def test_plan_lists_findings_without_values(tmp_path: Path) -> None:
    repo = planted(tmp_path / "repo")
    code, out, _ = run("plan", str(repo), "--json")
    assert code == 0
    report = json.loads(out)
    found = {(f["path"], f["kind"]) for f in report["secrets"]["findings"]}
    assert ("app/settings.py", "aws-access-key") in found
    assert ("app/settings.py", "github-pat") in found
    assert ("app/settings.py", "generic-credential-uri") in found
    assert ("app/client.py", "openai-key") in found
    assert ("app/keys.py", "private-key") in found
    assert not any(value in out for value in VALUES)
    code, text, _ = run("plan", str(repo))
    assert "secrets: " in text and "redacted" in text
    assert not any(value in text for value in VALUES)


def test_no_planted_secret_is_sent_and_code_around_it_is(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo = planted(tmp_path / "repo")
    out = tmp_path / "lesson"
    code, _, stderr = run(
        "run",
        str(repo),
        "--base-url",
        fake_openai.base_url,
        "--output",
        str(out),
        env={"OPENAI_API_KEY": "sk-test-" + "k" * 20},
    )
    assert code == 0, stderr
    bodies = [json.dumps(r.body) for r in fake_openai.requests]
    assert bodies and not any(value in body for value in VALUES for body in bodies)
    sent = " ".join(bodies)
    assert 'AWS_ACCESS_KEY_ID = \\"[REDACTED:aws-access-key]\\"' in sent  # the code around it stays
    for path in out.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="replace")
            assert not any(value in text for value in VALUES), path
    findings = json.loads((out / "run.json").read_text())["secrets"]["findings"]
    assert len(findings) >= 5


def test_skip_file_mode_holds_the_files_back(tmp_path: Path) -> None:
    repo = planted(tmp_path / "repo")
    code, out, _ = run("plan", str(repo), "--json", "--secrets", "skip-file")
    assert code == 0
    files = {f["path"]: f for f in json.loads(out)["files"]}
    assert files["app/settings.py"]["reason"] == "secret found"
    assert files["app/client.py"]["reason"] == "secret found"
    assert files["README.md"]["included"]


@pytest.mark.parametrize("command", ["plan", "run"])
def test_fail_mode_refuses_before_anything_is_sent(
    command: str, fake_openai: FakeServer, tmp_path: Path
) -> None:
    repo = planted(tmp_path / "repo")
    args = [command, str(repo), "--secrets", "fail"]
    if command == "run":
        args += ["--base-url", fake_openai.base_url, "--output", str(tmp_path / "o")]
    code, _, stderr = run(*args, env={"OPENAI_API_KEY": "sk-test-" + "k" * 20})
    assert code == 2
    assert "secret(s)" in stderr and "--secrets" in stderr
    assert not any(value in stderr for value in VALUES)
    assert fake_openai.chat_requests == []
