"""The plan in the terminal: files, batches, calls, summaries, peak context, cost, time and the verdict."""

from __future__ import annotations

from lessongen.conversation.advice import Advice, duration
from lessongen.conversation.dry_run import Plan, Verdict
from lessongen.conversation.history import CallKind
from lessongen.conversation.reuse import reuse_listing
from lessongen.repo.secrets import SecretsMode
from lessongen.shared.text import first_few, plural
from lessongen.ui.terminal import Console, money, styled, table


def _bar(share: float, width: int = 30) -> str:
    filled = max(0, min(width, round(share * width)))
    return "█" * filled + "░" * (width - filled)


COMPACT_ROWS = 30  # a table longer than this shows its first and last rows (the full list is in --json)
_HEAD, _TAIL = 10, 5


def _rows_shown(count: int) -> tuple[range, range]:
    """The rows a compact table shows: all of them, or the first and the last few."""
    if count <= COMPACT_ROWS:
        return range(count), range(0)
    return range(_HEAD), range(count - _TAIL, count)


def render_plan(
    console: Console, plan: Plan, advice: Advice | None = None, list_skipped: bool = False, top: int = 10
) -> None:
    """The dry-run report: files, batches, calls, summaries, peak context, cost and a verdict."""
    totals = plan.totals
    model = plan.model
    console.print(styled(f"lessongen plan for {plan.scan.root}", "bold"))
    console.print(
        f"model {model.name} ({model.provenance}): window {model.context_window:,} tokens, "
        f"usable input {plan.policy.input_limit:,}, reply reserve {plan.policy.max_reply_tokens:,}, "
        f"encoding {plan.encoding}"
    )
    console.print(
        f"files: {totals.files_included:,} included ({totals.source_tokens:,} tokens), "
        f"{totals.files_skipped:,} skipped"
    )
    if plan.secrets:
        kinds = ", ".join(sorted({f.kind for f in plan.secrets}))
        files = len({f.path for f in plan.secrets})
        verb = {SecretsMode.REDACT: "redacted", SecretsMode.SKIP_FILE: "held back with their files"}.get(
            plan.secrets_mode, "found"
        )
        console.print(f"secrets: {len(plan.secrets)} {verb} in {files} files ({kinds})", soft_wrap=True)
        for finding in plan.secrets[:10]:
            console.print(f"  {finding.path}:{finding.line} {finding.kind}", soft_wrap=True)
    noted = [f for f in plan.scan.files if f.note]
    for file in noted[:10]:
        console.print(f"note: {file.path}: {file.note}", soft_wrap=True)
    if len(noted) > 10:
        console.print(f"note: {len(noted) - 10} more files with notes (see --json)")
    if plan.scan.skipped:
        reasons = table("skipped by reason", ("reason", "paths"), right={"paths"})
        for reason, count in plan.skipped_by_reason():
            reasons.add_row(reason, f"{count:,}")
        console.print(reasons)
    if list_skipped and plan.scan.skipped:
        listing = table("skipped paths", ("path", "reason"))
        for skipped in plan.scan.skipped:
            listing.add_row(skipped.path, skipped.reason + (f" ({skipped.detail})" if skipped.detail else ""))
        console.print(listing)
    if plan.parts:
        biggest = table(
            f"top {min(top, len(plan.parts))} files by tokens", ("file", "tokens"), right={"tokens"}
        )
        for part in sorted(plan.parts, key=lambda p: (-p.tokens, p.path))[:top]:
            biggest.add_row(part.path, f"{part.tokens:,}")
        console.print(biggest)
    if plan.batches:
        batches = table(
            f"batches (budget {plan.batch_budget:,} source tokens each)",
            ("#", "files", "tokens", "first files"),
            right={"#", "files", "tokens"},
        )
        head, tail = _rows_shown(len(plan.batches))
        for i in [*head, *tail]:
            batch = plan.batches[i]
            if tail and i == tail[0]:
                batches.add_row(
                    "…", "", "", f"{len(plan.batches) - len(head) - len(tail):,} more batches (see --json)"
                )
            names = [p.label for p in batch.parts]
            shown = first_few(names, 3, more=", +{} more")
            batches.add_row(str(batch.index + 1), str(len(batch.parts)), f"{batch.tokens:,}", shown)
        console.print(batches)
    if plan.prepared.reuse is not None:  # an update or a redo: what is reused, what is asked again
        for line in reuse_listing(plan.prepared.reuse):
            console.print(line, soft_wrap=True)
    if plan.calls:
        columns = ("#", "call", "new", "prompt", "cached", "reply", "window", "cost")
        calls = table("calls", columns, right=set(columns) - {"call"})
        head, tail = _rows_shown(len(plan.calls))
        for i in [*head, *tail]:
            call = plan.calls[i]
            if tail and i == tail[0]:
                hidden = plan.calls[len(head) : tail[0]]
                folded = sum(1 for c in hidden if c.kind is CallKind.SUMMARY)
                calls.add_row(
                    "…", f"{len(hidden):,} more calls, {plural(folded, 'summary', 'summaries')} (see --json)"
                )
            share = call.prompt_tokens / model.context_window
            calls.add_row(
                str(call.index),
                call.label,
                f"{call.new_tokens:,}",
                f"{call.prompt_tokens:,}",
                f"{call.cached_tokens:,}",
                f"{call.reply_tokens:,}",
                f"{share:.0%}",
                money(call.cost_usd),
                style="yellow" if call.kind is CallKind.SUMMARY else None,
            )
        console.print(calls)
    if plan.calls:  # a plan with no call that fits has no summaries, peak or cost to report
        points = plan.summary_points()
        if points:
            listed = first_few([str(p) for p in points], 12)
            console.print(
                f"{plural(len(points), 'rolling summary', 'rolling summaries')} at calls {listed}: "
                "older turns are folded there",
                soft_wrap=True,
            )
        elif plan.verdict is not Verdict.DOES_NOT_FIT:
            console.print("no rolling summary needed: the whole history fits")
        peak = totals.peak_prompt_tokens
        share = peak / model.context_window if model.context_window else 0.0
        console.print(f"peak context {_bar(share)} {peak:,} / {model.context_window:,} ({share:.0%})")
        console.print(
            f"projected cost {money(totals.cost_usd)} with prompt caching "
            f"({totals.cached_tokens:,} of {totals.prompt_tokens:,} prompt tokens cached), "
            f"{money(totals.cost_usd_without_cache)} without"
        )
        if plan.replay is not None:
            console.print(
                f"resume: {plan.replay.calls:,} of {plural(len(plan.calls), 'call')} replayed from the "
                f"{plan.replay.saved:,} answers saved in {plan.prepared.settings.paths.output} "
                f"(not paid again), {money(plan.cost_after_replay())} for the rest",
                soft_wrap=True,
            )
        if advice is not None:
            console.print(
                f"estimated time {duration(advice.seconds)} for {plural(len(plan.calls), 'call')} "
                f"(at {advice.rates.source.value})",
                soft_wrap=True,
            )
    for warning in advice.warnings if advice and plan.calls else ():
        console.print(styled(f"warning: {warning}", "yellow"), soft_wrap=True)
    if plan.cost_if_half is not None and plan.cost_if_twice is not None:
        console.print(
            f"if replies are half / twice the assumed size: {money(plan.cost_if_half)} / "
            f"{money(plan.cost_if_twice)}"
        )
    style = "bold green" if plan.verdict is Verdict.FITS else "bold red"
    console.print(styled(f"verdict: {plan.verdict.value}: {plan.reason}", style))
