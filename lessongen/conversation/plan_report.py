"""The plan as plain JSON-ready data (the `--json` report)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lessongen.conversation.dry_run import Plan
from lessongen.models.catalog import ModelInfo
from lessongen.repo.secrets import SecretFinding, SecretsMode


def secrets_report(mode: SecretsMode, findings: Sequence[SecretFinding]) -> dict[str, Any]:
    """Secrets found, by path, line and kind; never their values."""
    return {
        "mode": mode.value,
        "files": len({f.path for f in findings}),
        "findings": [{"path": f.path, "line": f.line, "kind": f.kind} for f in findings],
    }


def prices_report(model: ModelInfo) -> dict[str, Any]:
    """The prices a plan or run used, per 1M tokens, with their source and date."""
    return {
        "input": model.input_price,
        "cached_input": model.cached_input_price,
        "output": model.output_price,
        "source": model.price_source,
    }


def plan_report(plan: Plan) -> dict[str, Any]:
    """The plan as a JSON-ready dict; its keys are documented in the README."""
    totals = plan.totals
    notes = {f.path: f.note for f in plan.scan.files}
    files = [
        {
            "path": p.path,
            "included": True,
            "tokens": p.tokens,
            "reason": None,
            "detail": notes.get(p.path) or None,
        }
        for p in plan.parts
    ] + [
        {"path": s.path, "included": False, "tokens": None, "reason": s.reason, "detail": s.detail or None}
        for s in plan.scan.skipped
    ]
    files.sort(key=lambda f: str(f["path"]))
    return {
        "model": plan.model.name,
        "encoding": plan.encoding,
        "context_window": plan.model.context_window,
        "context_window_source": plan.model.window.describe(),
        "input_limit": plan.policy.input_limit,
        "summary_at_tokens": plan.policy.summary_at,
        "refuse_at_tokens": plan.policy.refuse_at,
        "batch_budget_tokens": plan.batch_budget,
        "update": plan.prepared.reuse.as_json() if plan.prepared.reuse is not None else None,
        "prices_usd_per_million": prices_report(plan.model),
        "files": files,
        "skipped_by_reason": dict(plan.skipped_by_reason()),
        "secrets": secrets_report(plan.secrets_mode, plan.secrets),
        "batches": [
            {
                "index": b.index + 1,
                "files": [p.label for p in b.parts],
                "tokens": b.tokens,
            }
            for b in plan.batches
        ],
        "calls": [
            {
                "index": c.index,
                "kind": c.kind.value,
                "label": c.label,
                "new_tokens": c.new_tokens,
                "prompt_tokens": c.prompt_tokens,
                "cached_tokens": c.cached_tokens,
                "reply_tokens": c.reply_tokens,
                "window_share": round(c.prompt_tokens / plan.model.context_window, 4),
                "cost_usd": round(c.cost_usd, 6),
            }
            for c in plan.calls
        ],
        "summary_calls": list(plan.summary_points()),
        "totals": {
            "files_included": totals.files_included,
            "files_skipped": totals.files_skipped,
            "source_tokens": totals.source_tokens,
            "batches": len(plan.batches),
            "calls": len(plan.calls),
            "prompt_tokens": totals.prompt_tokens,
            "cached_tokens": totals.cached_tokens,
            "reply_tokens": totals.reply_tokens,
            "peak_prompt_tokens": totals.peak_prompt_tokens,
            "cost_usd": round(totals.cost_usd, 6),
            "cost_usd_without_cache": round(totals.cost_usd_without_cache, 6),
        },
        "cost_usd_if_replies": {
            "half": None if plan.cost_if_half is None else round(plan.cost_if_half, 6),
            "twice": None if plan.cost_if_twice is None else round(plan.cost_if_twice, 6),
        },
        "resume": None
        if plan.replay is None
        else {
            "replayed_calls": plan.replay.calls,
            "saved_answers": plan.replay.saved,
            "cost_usd": round(plan.cost_after_replay(), 6),
        },
        "max_cost_usd": plan.max_cost,
        "verdict": plan.verdict.value,
        "reason": plan.reason,
    }
