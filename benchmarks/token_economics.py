"""Benchmark: what lessongen's history policy costs, against a naive growing chat and a no-history floor.

Run from the repository root with the dev virtualenv's Python:

    python benchmarks/token_economics.py [--context-window N] [--reply-tokens N]

It copies a slice of the running interpreter's standard library (the `json`, `email`, `http`,
`logging` and `importlib` packages, without `__pycache__`) into a temporary folder and runs the whole
pipeline on it exactly as `lessongen run` does (prepare, build_plan, default_model, execute), with the
real `openai` client talking over HTTP to the fake OpenAI-compatible server of `tests/fake_openai.py`.
That server counts prompts with lessongen's tokenizer, applies OpenAI's prompt-cache rule (nothing below
1,024 shared tokens, then 128-token steps) and answers every call with a valid chapter padded to about
`--reply-tokens` tokens. Prices are the catalog's gpt-4o-mini prices.

The model's window is lowered from the catalog's (`--context-window`, default 48,000) so that this
slice needs rolling summaries; every other setting is lessongen's default, except that the plan assumes
the fake server's reply size for batch, summary and intro calls alike.

From the same run's replies it then prices two other ways of sending the same batches:

- naive growing chat: system prompt, then every batch message and its reply kept forever (no stubs, no
  summary), the introduction last; priced with and without prompt caching (same cache rule);
- source sent once, no history: system prompt and one batch per call (and the intro request alone).

Every token count comes from lessongen's own composer and counters, or from the run ledger. Finally it
compares the dry run's projected prompt tokens with the ledger's, against the target below.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

from fake_openai import ChapterResponder, FakeServer, RecordedRequest, Reply

from lessongen.config.settings import resolve_settings
from lessongen.conversation.compose import Message
from lessongen.conversation.dry_run import Plan
from lessongen.conversation.history import billable_cached, cached_prefix, prompt_tokens
from lessongen.conversation.ledger import LedgerEntry
from lessongen.conversation.prepared import Prepared
from lessongen.models.catalog import ModelInfo, load_catalog
from lessongen.pipeline import RunOutcome, build_plan, execute, prepare

PACKAGES = ("json", "email", "http", "logging", "importlib")
MODEL = "gpt-4o-mini"
CONTEXT_WINDOW = 48_000  # lowered from gpt-4o-mini's 128,000 so that this slice needs summaries
REPLY_TOKENS = 1500  # lessongen's default reply_tokens
TOLERANCE = 0.03
TARGET = "dry-run projected prompt tokens within 3% of the ledger's actual prompt tokens"
BATCH_RANGE = (15, 40)  # the corpus is meant to give this many batches and at least one summary


class Quiet:
    """A run observer that shows nothing: the benchmark prints its table at the end."""

    def call_started(self, index: int, label: str, estimate: int, replay: bool) -> None:
        """Nothing."""

    def call_finished(self, entry: LedgerEntry, batches_done: int, batches_total: int) -> None:
        """Nothing."""

    def note(self, text: str) -> None:
        """Nothing."""


class RecordingResponder:
    """The fake server's chapter responder, keeping every reply so the other strategies can replay them."""

    def __init__(self, reply_tokens: int) -> None:
        self.inner = ChapterResponder(reply_tokens=reply_tokens)
        self.replies: list[str] = []

    def __call__(self, request: RecordedRequest) -> Reply:
        reply = self.inner(request)
        self.replies.append(reply.content)
        return reply


@dataclass(frozen=True)
class Call:
    """One call's tokens: the prompt, its billable cached prefix and the reply."""

    prompt: int
    cached: int
    reply: int


@dataclass(frozen=True)
class Strategy:
    """A way of sending the batches, as the calls it makes."""

    name: str
    calls: tuple[Call, ...]
    caching: bool = True

    @property
    def prompt(self) -> int:
        return sum(c.prompt for c in self.calls)

    @property
    def cached(self) -> int:
        return sum(c.cached for c in self.calls) if self.caching else 0

    @property
    def reply(self) -> int:
        return sum(c.reply for c in self.calls)

    @property
    def peak(self) -> int:
        return max((c.prompt for c in self.calls), default=0)

    def cost(self, model: ModelInfo) -> float:
        """USD with the catalog prices, using lessongen's own pricing function."""
        return sum(model.cost(c.prompt, c.reply, c.cached if self.caching else 0) for c in self.calls)


@dataclass(frozen=True)
class Run:
    """What one live run produced, with the settings it ran with."""

    prepared: Prepared
    plan: Plan
    outcome: RunOutcome
    replies: tuple[str, ...]  # every reply text the server sent, in call order
    seconds: float


def stdlib_root() -> Path:
    """The standard library folder of the running interpreter."""
    return Path(sysconfig.get_paths()["stdlib"]).resolve()


def copy_corpus(dest: Path) -> Path:
    """The benchmark's repository: the chosen stdlib packages, without bytecode."""
    root = stdlib_root()
    for name in PACKAGES:
        shutil.copytree(root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def open_model(prepared: Prepared) -> tuple[Any, str]:
    """The chat model and the server it talks to, opened as the CLI's `_live` opens them."""
    backend = getattr(prepared, "backend", None)
    if backend is not None:
        return backend.open_model(), str(backend.where)
    # lessongen before model backends: pipeline.default_model(settings) opens the OpenAI client.
    from lessongen import pipeline

    return pipeline.default_model(prepared.settings)  # type: ignore[attr-defined, no-any-return]


def live_run(repo: Path, work: Path, window: int, reply_tokens: int) -> Run:
    """The whole pipeline against the fake server, driven as the CLI's `_live` drives it."""
    responder = RecordingResponder(reply_tokens)
    with FakeServer(model=MODEL, context_window=window, responder=responder) as server:
        flags: dict[str, object] = {
            "model": MODEL,
            "base_url": server.base_url,
            "output": work / "lesson",
            "cache_dir": work / "cache",
            "context_window": window,
            "use_git": False,
            # The plan assumes the size the fake server answers with, for every kind of call.
            "reply_tokens": reply_tokens,
            "summary_reply_tokens": reply_tokens,
            "intro_reply_tokens": reply_tokens,
        }
        settings = resolve_settings(repo, flags, {"OPENAI_API_KEY": "sk-bench-not-a-key"})
        prepared = prepare(settings)
        plan = build_plan(prepared)
        model, where = open_model(prepared)
        started = time.perf_counter()
        try:
            outcome = execute(prepared, plan, model, Quiet(), resume=False, force=False, server=where)
        finally:
            close = getattr(model, "close", None)
            if close:
                close()
        seconds = time.perf_counter() - started
    if outcome.stopped is not None:
        raise SystemExit(f"the live run stopped early: {outcome.stopped.one_line()}")
    if len(responder.replies) != len(outcome.entries):
        raise SystemExit(
            f"the server answered {len(responder.replies)} requests for {len(outcome.entries)} ledger entries"
        )
    return Run(prepared, plan, outcome, tuple(responder.replies), seconds)


def lessongen_strategy(entries: Sequence[LedgerEntry], caching: bool) -> Strategy:
    """lessongen's calls as the ledger recorded them (server usage)."""
    calls = tuple(Call(e.prompt_tokens, e.cached_tokens, e.completion_tokens) for e in entries)
    name = "lessongen (ledger)" if caching else "lessongen, no caching"
    return Strategy(name, calls, caching)


def final_replies(run: Run) -> dict[str, tuple[Message, int]]:
    """Each batch's and the intro's reply as kept in the chat (a repair's answer replaces the first)."""
    composer = run.prepared.composer
    found: dict[str, tuple[Message, int]] = {}
    for entry, text in zip(run.outcome.entries, run.replies, strict=True):
        if entry.kind != "summary":
            found[entry.label.removeprefix("repair ")] = (composer.reply(text), entry.completion_tokens)
    return found


def replay(run: Run, keep_history: bool) -> tuple[Call, ...]:
    """The same batches and replies sent as a naive growing chat, or each alone after the system prompt."""
    composer = run.prepared.composer
    batches = run.prepared.batches
    replies = final_replies(run)
    system = composer.system()
    requests = [(f"batch {b.index + 1}", composer.batch(b, len(batches))) for b in batches]
    requests.append(("intro", composer.intro_request(len(batches))))
    history: list[Message] = [system]
    sent: list[tuple[Message, ...]] = []
    calls: list[Call] = []
    for label, request in requests:
        messages = (*history, request) if keep_history else (system, request)
        reply, reply_tokens = replies[label]
        cached = billable_cached(cached_prefix(sent, messages))
        calls.append(Call(prompt_tokens(messages), cached, reply_tokens))
        sent.append(messages)
        history += [request, reply]
    return tuple(calls)


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def print_setup(run: Run, window: int, reply_tokens: int) -> None:
    p, plan = run.prepared, run.plan
    catalog = load_catalog().find(MODEL)
    totals = plan.totals
    print(f"corpus: {', '.join(PACKAGES)} from {stdlib_root()} (Python {sys.version.split()[0]})")
    print(
        f"        {totals.files_included:,} files, {totals.source_tokens:,} source tokens, "
        f"{len(p.batches)} batches of up to {p.budget:,} tokens, {len(plan.summary_points())} summary "
        f"call(s), {len(plan.calls)} calls planned"
    )
    lowered = f", lowered from the catalog's {catalog.context_window:,} to force summaries" if catalog else ""
    print(
        f"model:  {MODEL} window {window:,}{lowered}; usable input {p.policy.input_limit:,}, "
        f"summary at {p.policy.summary_at:,}, pre-flight refusal above {p.policy.refuse_at:,}"
    )
    m = p.model
    print(
        f"prices: USD per 1M tokens: input {m.input_price}, cached input {m.cached_input_price}, "
        f"output {m.output_price} ({m.source})"
    )
    print(
        f"server: tests/fake_openai.py, replies padded to about {reply_tokens:,} tokens; the plan assumes "
        f"{p.policy.batch_reply:,} / {p.policy.summary_reply:,} / {p.policy.intro_reply:,} "
        "(batch / summary / intro); cache rule 1,024 min, 128-token steps"
    )
    print(f"live run: {len(run.outcome.entries)} calls in {run.seconds:.1f} s over HTTP to the fake server")
    low, high = BATCH_RANGE
    if not (low <= len(p.batches) <= high) or not plan.summary_points():
        print(
            f"WARNING: this corpus gives {len(p.batches)} batches and {len(plan.summary_points())} summaries; "
            f"the benchmark is meant for {low}-{high} batches and at least one summary (adjust --context-window)"
        )


def print_table(run: Run) -> None:
    entries = run.outcome.entries
    model = run.prepared.model
    policy = run.prepared.policy
    ours = lessongen_strategy(entries, caching=True)
    naive = replay(run, keep_history=True)
    once = replay(run, keep_history=False)
    rows = [
        ours,
        lessongen_strategy(entries, caching=False),
        Strategy("(a) naive growing chat", naive),
        Strategy("(a) naive, no caching", naive, caching=False),
        Strategy("(b) source once, no history", once),
    ]
    billed = sum(e.cost_usd for e in entries)
    base = ours.cost(model)
    print()
    header = (
        f"{'strategy':<30}{'calls':>6}{'prompt tok':>12}{'cached tok':>12}{'cached':>8}"
        f"{'reply tok':>11}{'peak prompt':>13}{'cost USD':>11}{'vs ours':>9}"
    )
    print(header)
    print("-" * len(header))
    for s in rows:
        cost = billed if s is ours else s.cost(model)
        print(
            f"{s.name:<30}{len(s.calls):>6}{s.prompt:>12,}{s.cached:>12,}{percent(s.cached, s.prompt):>8}"
            f"{s.reply:>11,}{s.peak:>13,}{cost:>11.4f}{cost / base:>8.2f}x"
        )
    print()
    print(
        f"billed: ${billed:.4f} is the sum of the ledger's cost_usd over {len(entries)} calls "
        f"(recomputed from its token counts: ${base:.4f})"
    )
    catalog = load_catalog().find(MODEL)
    real = catalog.context_window if catalog else model.context_window
    print(
        f"(a) keeps all {len(run.prepared.batches)} batches' source: "
        f"{sum(c.prompt > policy.refuse_at for c in naive)} of its {len(naive)} calls are above lessongen's "
        f"pre-flight limit ({policy.refuse_at:,}), {sum(c.prompt > model.context_window for c in naive)} "
        f"above this run's {model.context_window:,}-token window and {sum(c.prompt > real for c in naive)} "
        f"above {MODEL}'s real {real:,}: it could not run; its cost is hypothetical"
    )
    print(
        "(a) and (b) replay this run's batch and intro replies (no summary calls); (b)'s intro is the intro "
        "request alone, so (b) is a floor, not a lesson a model could write"
    )


def print_plan_check(run: Run) -> None:
    plan, entries = run.plan, run.outcome.entries
    projected = plan.totals.prompt_tokens
    actual = sum(e.prompt_tokens for e in entries)
    diff = actual - projected
    share = abs(diff) / actual
    print()
    print(
        f"plan vs actual prompt tokens: projected {projected:,} (dry run), actual {actual:,} (ledger), "
        f"difference {diff:+,} = {100 * share:.2f}% of actual"
    )
    planned_cached = plan.totals.cached_tokens
    actual_cached = sum(e.cached_tokens for e in entries)
    print(
        f"  cached: projected {planned_cached:,}, actual {actual_cached:,}; cost: projected "
        f"${plan.totals.cost_usd:.4f}, billed ${sum(e.cost_usd for e in entries):.4f}"
    )
    made = [e for e in entries if e.kind != "repair"]
    same_calls = [c.label for c in plan.calls] == [e.label for e in made]
    print(
        f"  calls: {len(plan.calls)} planned, {len(entries)} made "
        f"({sum(e.kind == 'repair' for e in entries)} repairs); same sequence as planned: {same_calls}"
        + (f"; deviations: {'; '.join(run.outcome.deviations)}" if run.outcome.deviations else "")
    )
    if same_calls:
        gaps = [(e.prompt_tokens - c.prompt_tokens, c.label) for c, e in zip(plan.calls, made, strict=True)]
        worst = max(gaps, key=lambda g: abs(g[0]))
        print(
            f"  per call: {sum(g != 0 for g, _ in gaps)} of {len(gaps)} prompts differ; largest "
            f"{worst[0]:+,} tokens ({worst[1]})"
        )
        replies = [
            (e.completion_tokens - c.reply_tokens, c.label) for c, e in zip(plan.calls, made, strict=True)
        ]
        off = [r for r in replies if r[0]]
        largest = max(off, key=lambda r: abs(r[0]), default=(0, "-"))
        print(
            f"  replies: {len(off)} of {len(replies)} differ from the size the plan assumed "
            f"(total {sum(r for r, _ in replies):+,} tokens, largest {largest[0]:+,} in {largest[1]}); a "
            "longer reply stays in the history, so every later prompt carries the difference until a summary"
        )
    verdict = "PASS" if share <= TOLERANCE else "FAIL"
    print(f"target: {TARGET}: {verdict} ({100 * share:.2f}% vs {100 * TOLERANCE:.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--context-window", type=int, default=CONTEXT_WINDOW, help="the model's window")
    parser.add_argument("--reply-tokens", type=int, default=REPLY_TOKENS, help="the fake server's reply size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="lessongen-economics-") as temp:
        work = Path(temp)
        repo = copy_corpus(work / "repo")
        run = live_run(repo, work, args.context_window, args.reply_tokens)
        print_setup(run, args.context_window, args.reply_tokens)
        print_table(run)
        print_plan_check(run)


if __name__ == "__main__":
    main()
