"""A realistic repository with credentials planted everywhere: a live run sends none of them, and leaves
the ordinary literals that only look like secrets alone (see planted_repo.py for what is planted)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fake_openai import FakeServer
from planted_repo import Planted, build
from typer.testing import CliRunner

from lessongen.cli import app
from lessongen.repo.secrets import SecretScanner, SecretsMode, apply_secrets_policy
from lessongen.repo.walk import scan_repository

API_KEY = "sk-test-" + "k" * 20


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "120", "OPENAI_API_KEY": API_KEY})
    return result.exit_code, result.stdout, result.stderr


def live_run(fake: FakeServer, tmp_path: Path) -> tuple[Planted, str, Path]:
    """Run lessongen on the planted repository; what the server received, as text, and the outputs."""
    planted = build(tmp_path / "shop")
    out = tmp_path / "lesson"
    code, _, stderr = run("run", str(planted.root), "--base-url", fake.base_url, "--output", str(out))
    assert code == 0, stderr
    assert fake.chat_requests
    # Each message's text as the model reads it, and the raw JSON bodies with their escapes.
    contents = [str(m.get("content")) for r in fake.requests for m in r.messages]
    bodies = [json.dumps(r.body) for r in fake.requests]
    return planted, "\n".join(contents + bodies), out


def test_the_planted_repository_is_realistic(tmp_path: Path) -> None:
    planted = build(tmp_path / "shop")
    assert len(planted.plants) >= 50 and len(planted.kinds) >= 25 and len(planted.benign) >= 20
    files = {p.path for p in planted.plants}
    for pattern in (
        r"\.py$", r"\.js$", r"\.json$", r"\.ya?ml$", r"\.toml$", r"\.ini$", r"\.properties$", r"\.md$",
        r"\.ipynb$", r"Dockerfile$", r"\.sh$", r"npmrc", r"k8s/", r"\.env\.", r"^\(path\)$",
    ):  # fmt: skip
        assert any(re.search(pattern, f) for f in files), pattern
    text = "".join(p.read_text() for p in planted.root.rglob("*") if p.is_file())
    assert all(fragment in text for p in planted.plants if p.path != "(path)" for fragment in p.fragments)
    assert all(value in text for value in planted.benign)


def test_no_planted_secret_reaches_the_model_server(fake_openai: FakeServer, tmp_path: Path) -> None:
    planted, sent, out = live_run(fake_openai, tmp_path)
    leaked = [(p.kind, p.path) for p in planted.plants if any(f in sent for f in p.fragments)]
    assert leaked == []
    assert "[REDACTED:" in sent  # the code around each value is still sent
    assert "exports/[REDACTED:github-pat].json" in sent  # a token in a file name
    written = "".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    assert not any(f in written for p in planted.plants for f in p.fragments)
    findings = json.loads((out / "run.json").read_text())["secrets"]["findings"]
    assert [sorted(f) for f in findings] == [["kind", "line", "path"]] * len(findings)
    flagged = {f["path"] for f in findings}
    assert {p.path for p in planted.plants if p.path != "(path)"} <= flagged


def test_ordinary_literals_that_look_like_secrets_are_sent_unchanged(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    planted, sent, _ = live_run(fake_openai, tmp_path)
    changed = [value for value in planted.benign if value not in sent]
    assert len(changed) <= 1, changed


def test_the_plan_finds_the_same_in_the_scanner_worker_as_in_process(
    tmp_path: Path, secret_scanner: SecretScanner
) -> None:
    planted = build(tmp_path / "shop")
    code, out, stderr = run("plan", str(planted.root), "--json", "--no-git")
    assert code == 0, stderr
    in_worker = [(f["path"], f["line"], f["kind"]) for f in json.loads(out)["secrets"]["findings"]]
    scan = scan_repository(planted.root, use_git=False)
    here = apply_secrets_policy(scan.files, SecretsMode.REDACT, secret_scanner).findings
    assert in_worker == [(f.path, f.line, f.kind) for f in here]
    assert not any(f in out for p in planted.plants for f in p.fragments)
