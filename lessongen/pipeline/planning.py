"""Batches -> plan: the dry run of the conversation, its verdict and its time estimate."""

from __future__ import annotations

from lessongen.conversation.advice import TYPICAL_LOCAL, TYPICAL_SERVER, Advice, advise, rates_from_ledger
from lessongen.conversation.dry_run import Plan, Simulation, Verdict, judge, simulate
from lessongen.conversation.history import check_budget
from lessongen.conversation.prepared import Prepared
from lessongen.conversation.replies import cost_if
from lessongen.errors import DoesNotFitError, LessongenError
from lessongen.models.backend import wants_local
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
    )


def plan_advice(plan: Plan) -> Advice:
    """The plan's time estimate (from the previous run's ledger of the same model, else a typical rate) and warnings."""
    typical = TYPICAL_LOCAL if wants_local(plan.prepared.settings) else TYPICAL_SERVER
    rates = typical
    ledger = output_dir(plan.prepared.settings) / "run.json"
    if ledger.is_file():
        try:
            previous = read_json(ledger)
        except LessongenError:
            previous = None  # a damaged ledger only costs the better estimate
        if isinstance(previous, dict) and previous.get("model") == plan.model.name:
            calls = previous.get("calls")
            if isinstance(calls, list) and all(isinstance(c, dict) for c in calls):
                try:
                    rates = rates_from_ledger(calls, typical) or typical
                except (KeyError, TypeError, ValueError):
                    rates = typical
    return advise(plan, rates)
