"""Hostile model replies over real HTTP: each ends in a usable chapter, a repair turn or a flagged scene.

The real openai client talks to the fake server; every test checks the exit code, that no traceback
is printed, and what the server received.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_openai import FakeServer, Fault
from helpers import make_repo
from test_escaping import kinds
from test_run import check_script, plan_json, run_cli

# Room in the reply reserve for 5,000 levels of nesting (one token each), so the reply arrives whole.
ROOMY = ("--max-reply-tokens", "12000")


def ledger(out: Path) -> dict[str, Any]:
    return json.loads((out / "run.json").read_text())


def scenes(out: Path) -> list[dict[str, Any]]:
    script = json.loads((out / "script.json").read_text())
    return [s for c in script["chapters"] for s in c["scenes"]]


@pytest.mark.parametrize(
    ("fault", "repair_for"),
    [
        (Fault.huge_number(), "whole-number start_line"),
        (Fault.deep_json(), "nests too deeply"),
    ],
    ids=["1e999", "deep-json"],
)
def test_an_unusable_chapter_gets_a_repair_turn(
    fake_openai: FakeServer, tmp_path: Path, fault: Fault, repair_for: str
) -> None:
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(fault)
    code, _, stderr = run_cli(fake_openai, repo, out, *ROOMY)
    assert code == 0, stderr
    assert "Traceback" not in stderr
    sent = fake_openai.chat_requests
    assert [c["kind"] for c in ledger(out)["calls"]] == ["batch", "repair", "intro"] and len(sent) == 3
    assert repair_for in sent[1].messages[-1]["content"]
    check_script(repo, out)  # schema-valid, every anchor inside its file


def test_fences_inside_the_narration_are_kept(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(Fault.fenced_narration())
    code, _, stderr = run_cli(fake_openai, repo, out)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert len(fake_openai.chat_requests) == 2  # no repair turn
    assert "```python" in scenes(out)[1]["narration"]
    assert not any("flagged" in s for s in scenes(out))


def test_negative_anchor_lines_are_dropped_and_reported(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(Fault.negative_lines())
    code, _, stderr = run_cli(fake_openai, repo, out)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert len(fake_openai.chat_requests) == 2  # no repair turn
    script = check_script(repo, out)
    assert all(s["anchors"] == [] for c in script["chapters"][1:] for s in c["scenes"])
    assert {i["problem"].split(" are ")[1] for i in script["anchor_issues"]} == {
        f"before the first line of {i['path']}" for i in script["anchor_issues"]
    }
    assert script["anchor_issues"] and not any(i["repaired"] for i in script["anchor_issues"])


def test_a_journaled_deep_reply_is_repaired_on_resume(fake_openai: FakeServer, tmp_path: Path) -> None:
    """The reply is saved before it is parsed: the resume parses it again and must not crash."""
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(Fault.deep_json())
    code, _, stderr = run_cli(fake_openai, repo, out, *ROOMY, "--max-calls", "1")
    assert code == 4, stderr
    assert "--max-calls 1 reached" in stderr and "Traceback" not in stderr
    code, _, stderr = run_cli(fake_openai, repo, out, *ROOMY, "--resume")
    assert code == 0, stderr
    first, repair, intro = fake_openai.chat_requests
    assert repair.messages[:-2] == first.messages  # the saved answer is not asked for again
    assert "nests too deeply" in repair.messages[-1]["content"]
    assert "introduction" in intro.messages[-1]["content"].lower()
    assert [c["replayed"] for c in ledger(out)["calls"]] == [True, False, False]


def test_markup_in_model_text_is_neutralised_in_script_md(fake_openai: FakeServer, tmp_path: Path) -> None:
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(Fault.markup())
    code, _, stderr = run_cli(fake_openai, repo, out)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert len(fake_openai.chat_requests) == 2  # a valid chapter: no repair turn
    markdown = (out / "script.md").read_text()
    found = kinds(markdown)
    assert "html_block" not in found and "html_inline" not in found and "image" not in found
    assert "link_open" not in found and "table_open" not in found
    # Only lessongen's own headings: the title, one per chapter and scene, and the report sections.
    script = check_script(repo, out)
    headings = [line for line in markdown.splitlines() if line.startswith("#")]
    assert found.count("heading_open") == len(headings)
    assert [h.split(" ")[0] for h in headings] == [
        "#",
        *[mark for c in script["chapters"] for mark in ["##"] + ["###"] * len(c["scenes"])],
        "##",  # the anchor report
    ]
    assert headings[-1] == "## Anchor report"
    assert "Injected" in headings[3] and headings[3].startswith("## Chapter 1: ")  # on its one line
    assert not any(c in markdown for c in "\x00\x1b")
    assert "\\x00" in markdown  # the NUL in the anchor path is shown escaped in the anchor report
    # script.json keeps the model's text as data (JSON escapes it), and stays schema-valid.
    assert "<script>" in scenes(out)[1]["narration"]


def one_error_line(stderr: str) -> str:
    """The one error line a failed run ends with on stderr (after its progress lines and notes)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert errors == lines[-1:] and "Traceback" not in stderr, stderr
    assert all(line.startswith(("call ", "note: ")) for line in lines[:-1]), stderr
    return lines[-1]


def test_a_malformed_response_is_retried_then_one_line_exit_5(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    """Through the whole run; each kind of malformed answer is named in tests/test_openai_chat.py."""
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fault = Fault.html()
    fake_openai.script(fault, fault, fault)
    code, _, stderr = run_cli(fake_openai, repo, out)
    assert code == 5
    line = one_error_line(stderr)
    assert (
        "returned malformed responses 3 times (an HTML page instead of JSON)" in line and "--resume" in line
    )
    sent = fake_openai.chat_requests
    assert [r.fault for r in sent] == [fault.kind] * 3  # the same call, asked three times
    assert sent[0].body == sent[1].body == sent[2].body
    assert ledger(out)["calls"] == [] and ledger(out)["complete"] is False


def test_a_malformed_response_once_is_retried_and_the_run_completes(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(None, Fault.no_choices())
    code, _, stderr = run_cli(fake_openai, repo, out)
    assert code == 0 and "Traceback" not in stderr, stderr
    assert [c["attempts"] for c in ledger(out)["calls"]] == [1, 2]
    assert len(fake_openai.chat_requests) == 3


def test_a_trickled_body_meets_the_total_deadline(fake_openai: FakeServer, tmp_path: Path) -> None:
    """Each byte arrives well within the read timeout; the whole answer does not arrive in time."""
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(None, Fault.trickle(seconds_per_byte=0.1))
    code, _, stderr = run_cli(fake_openai, repo, out, "--timeout", "1", "--max-retries", "0")
    assert code == 5
    assert "did not answer in time" in one_error_line(stderr)
    assert [r.fault for r in fake_openai.chat_requests] == [None, "trickle"]
    assert [c["kind"] for c in ledger(out)["calls"]] == ["batch"]  # the answered call is kept


def test_trickled_headers_meet_the_total_deadline(fake_openai: FakeServer, tmp_path: Path) -> None:
    """A header byte every 0.1 s for 8 s, then a hang-up: only a deadline over the headers reports a timeout."""
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(None, Fault.trickle_headers(seconds_per_byte=0.1))
    code, _, stderr = run_cli(fake_openai, repo, out, "--timeout", "1", "--max-retries", "0")
    assert code == 5
    assert "did not answer in time" in one_error_line(stderr)
    assert [r.fault for r in fake_openai.chat_requests] == [None, "trickle_headers"]
    assert [c["kind"] for c in ledger(out)["calls"]] == ["batch"]  # the answered call is kept


def test_a_reply_past_the_reserve_is_cut_and_never_poisons_the_history(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    """A server that ignores max_tokens and sends megabytes: cut to the reserve, repaired, run completes."""
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(Fault.oversized(chars=2_000_000))
    code, _, stderr = run_cli(fake_openai, repo, out, "--max-reply-tokens", "2000")
    assert code == 0 and "Traceback" not in stderr, stderr
    first, repair, intro = fake_openai.chat_requests
    assert first.body["max_tokens"] == 2000
    kept = repair.messages[-2]  # the oversized answer, as the history now holds it
    assert kept["role"] == "assistant" and len(kept["content"]) <= 2000 * 16
    assert "cut off at the reply limit" in repair.messages[-1]["content"]
    assert intro.prompt_tokens < first.prompt_tokens + 2 * 2000  # nothing of the 10 MB is carried on
    report = ledger(out)
    assert [c["kind"] for c in report["calls"]] == ["batch", "repair", "intro"]
    assert any("passed the reply reserve of 2,000 tokens" in n for n in report["notes"])
    saved = sum(p.stat().st_size for p in (out / ".lessongen").rglob("*") if p.is_file())
    assert saved < 1_000_000  # the journal holds the bounded answer, not 10 MB


def test_reported_usage_is_clamped_and_caps_use_the_larger_count(
    fake_openai: FakeServer, tmp_path: Path
) -> None:
    repo, out = make_repo(tmp_path / "repo", modules=1), tmp_path / "lesson"
    fake_openai.script(Fault.bad_usage(100, 10**9, -5), Fault.bad_usage(10**12, 0, 10))
    code, _, stderr = run_cli(fake_openai, repo, out)
    assert code == 0 and "Traceback" not in stderr, stderr  # 10^12 prompt tokens strand nothing
    report = ledger(out)
    first, second = report["calls"]
    sent = fake_openai.chat_requests
    assert first["prompt_tokens"] == 100 and first["cached_tokens"] == 100  # cached clamped to the prompt
    assert first["completion_tokens"] > 0 and first["cost_usd"] > 0  # our count of the reply, billed
    assert second["prompt_tokens"] == second["estimate_tokens"] == sent[1].prompt_tokens  # ours, not 10^12
    assert report["totals"]["cost_usd"] > 0 and not any(c["usage_reported"] for c in report["calls"])
    assert sum("the server reported" in n for n in report["notes"]) == 3


def test_a_negative_cost_report_cannot_lift_the_cost_cap(fake_openai: FakeServer, tmp_path: Path) -> None:
    """cached_tokens far above prompt_tokens once gave a negative total, and --max-cost never stopped."""
    repo, out = make_repo(tmp_path / "repo", modules=6), tmp_path / "lesson"
    args = ("--max-batch-tokens", "800", "--reply-tokens", "1")
    plan = plan_json(repo, *args)
    prices = plan["prices_usd_per_million"]
    worst_first = (plan["calls"][0]["prompt_tokens"] * prices["input"] + 4096 * prices["output"]) / 1e6
    fake_openai.script(Fault.bad_usage(100, 10**9, 0))
    code, _, stderr = run_cli(fake_openai, repo, out, *args, "--max-cost", str(round(worst_first * 1.1, 6)))
    assert code == 4, stderr
    assert "--max-cost" in one_error_line(stderr)
    assert len(fake_openai.chat_requests) == 1 and ledger(out)["totals"]["cost_usd"] >= 0
