"""Writing the lesson: script.md, script.json and run.json, each atomically."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lessongen.conversation.dry_run import Plan
from lessongen.conversation.ledger import LedgerEntry, ledger_totals
from lessongen.conversation.plan_report import prices_report, secrets_report
from lessongen.errors import OutputError
from lessongen.script.assemble import Script, script_json, script_markdown
from lessongen.shared.layout import LESSON_FILES
from lessongen.shared.storage import write_atomic, write_json

OWN_FILES = LESSON_FILES


def existing_outputs(folder: Path) -> list[Path]:
    """lessongen's own output files already in the folder."""
    return [folder / name for name in OWN_FILES if (folder / name).exists()]


def remove_outputs(folder: Path) -> None:
    """Remove lessongen's own output files (nothing else in the folder is touched)."""
    for path in existing_outputs(folder):
        try:
            path.unlink()
        except OSError as exc:
            raise OutputError(
                f"cannot remove {path}: {exc.strerror or exc}",
                "make the folder writable, or pass --output for another folder; the saved answers are kept",
            ) from None


def run_report(
    plan: Plan,
    entries: Sequence[LedgerEntry],
    script: Script,
    deviations: Sequence[str],
    notes: Sequence[str],
    stopped: str | None,
    server: str,
) -> dict[str, Any]:
    """The ledger and what happened, as run.json holds it. It never contains an API key."""
    totals = ledger_totals(entries)
    planned_prompt = plan.totals.prompt_tokens
    return {
        "model": plan.model.name,
        "server": server,
        "prices_usd_per_million": prices_report(plan.model),
        "complete": script.complete,
        "stopped": stopped,
        "plan": {
            "calls": len(plan.calls),
            "prompt_tokens": planned_prompt,
            "cost_usd": round(plan.totals.cost_usd, 6),
        },
        "calls": [e.as_json() for e in entries],
        "totals": totals,
        "estimate_vs_actual": round(totals["prompt_tokens"] / totals["estimate_tokens"], 4)
        if totals["estimate_tokens"]
        else None,
        "deviations_from_plan": list(deviations),
        "notes": list(notes),
        "secrets": secrets_report(plan.secrets_mode, plan.secrets),
        "anchor_issues": len(script.anchor_issues),
        "uncovered_files": list(script.uncovered),
    }


def write_outputs(
    folder: Path, script: Script, sources: Mapping[str, str], report: Mapping[str, Any]
) -> list[Path]:
    """Write the three outputs; the script files first, the ledger last."""
    written = [folder / "script.json", folder / "script.md", folder / "run.json"]
    write_json(written[0], script_json(script))
    write_atomic(written[1], script_markdown(script, sources))
    write_json(written[2], dict(report))
    return written
