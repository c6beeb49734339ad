"""Batches -> plan: the dry run of the conversation, its verdict and its time estimate."""

from __future__ import annotations

from pathlib import Path

from lessongen.conversation.advice import (
    TYPICAL_LOCAL,
    TYPICAL_SERVER,
    Advice,
    Rates,
    advise,
    rates_from_ledger,
    rates_from_probe,
)
from lessongen.conversation.dry_run import Plan, Simulation, Verdict, judge, simulate
from lessongen.conversation.history import check_budget
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.replies import cost_if
from lessongen.errors import DoesNotFitError, LessongenError
from lessongen.models.backend import wants_local
from lessongen.session import saved_replay
from lessongen.shared.storage import output_dir, read_json


def build_plan(prepared: Prepared) -> Plan:
    """The dry run: the calls the history policy will make, their sizes and their cost."""
    try:
        check_budget(prepared.policy, prepared.budget, prepared.system_tokens)
        simulation = simulate(
            prepared.batches, prepared.composer, prepared.policy, prepared.model, reused=prepared.reused
        )
    except DoesNotFitError as exc:
        simulation = Simulation((), exc)
    verdict, reason = judge(simulation, prepared.model, prepared.settings.caps.max_cost)
    half, twice = (cost_if(prepared, factor) if simulation.refused is None else None for factor in (0.5, 2.0))
    if prepared.reuse is not None and prepared.reuse.up_to_date and verdict is Verdict.FITS:
        reason = "the lesson is up to date: every chapter is reused, nothing is sent"
    if not prepared.parts and verdict is Verdict.FITS:
        verdict = Verdict.NOTHING_TO_SEND
        reason = "no files to send: the repository is empty or every path was left out (see skipped)"
    return Plan(
        prepared=prepared,
        calls=simulation.calls,
        verdict=verdict,
        reason=reason,
        cost_if_half=half,
        cost_if_twice=twice,
        replay=saved_replay(prepared),
    )


def plan_advice(plan: Plan) -> Advice:
    """The plan's time estimate and warnings.

    The speeds come from the previous run's ledger of the same model, else (for a local model) a short
    probe of it on this machine, remembered in the cache, else a typical rate.
    """
    settings = plan.prepared.settings
    typical = TYPICAL_LOCAL if wants_local(settings) else TYPICAL_SERVER
    rates = _ledger_rates(output_dir(settings) / "run.json", plan.model.name, typical)
    probe = plan.prepared.backend.speed
    timed = bool(plan.calls) and plan.verdict in (Verdict.FITS, Verdict.OVER_BUDGET)  # the estimate is shown
    if rates is None and probe is not None and settings.model.probe_speed and timed:
        rates = rates_from_probe(probe())
    return advise(plan, rates or typical)


def _ledger_rates(ledger: Path, model: str, typical: Rates) -> Rates | None:
    """The typical rates scaled to the previous run's calls, when its ledger is of the same model."""
    if not ledger.is_file():
        return None
    try:
        previous = read_json(ledger)
    except LessongenError:
        return None  # a damaged ledger only costs the better estimate
    if not isinstance(previous, dict) or previous.get("model") != model:
        return None
    calls = previous.get("calls")
    if not isinstance(calls, list) or not all(isinstance(c, dict) for c in calls):
        return None
    try:
        return rates_from_ledger(calls, typical)
    except (KeyError, TypeError, ValueError):
        return None
