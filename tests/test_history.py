import itertools
from pathlib import Path

import pytest
from helpers import WordCounter, part, tiny_prompts

from lessongen.config.groups import HistorySettings
from lessongen.conversation.compose import Composer
from lessongen.conversation.dry_run import simulate
from lessongen.conversation.fit import HEALTHY_SHARE, MAX_SCENES, Prices
from lessongen.conversation.history import (
    CallKind,
    ChatState,
    Policy,
    Seen,
    apply_reply,
    check_budget,
    expected_reply,
    make_policy,
    next_step,
    preflight,
)
from lessongen.errors import DoesNotFitError
from lessongen.models.catalog import ModelInfo
from lessongen.shared.data import Batch

FREE = ModelInfo(
    "test",
    context_window=1100,
    max_output_tokens=100,
    input_price=1.0,
    cached_input_price=0.5,
    output_price=2.0,
)
SYSTEM_TOKENS = 418  # the shipped system prompt with gpt-4o-mini's tokenizer


NO_PRICES = Prices()


def policy(keep: int = 0, summary_at: int = 850, refuse_at: int = 950, prices: Prices = NO_PRICES) -> Policy:
    return Policy(
        input_limit=1000,
        max_reply_tokens=100,
        keep_recent=keep,
        summary_at=summary_at,
        refuse_at=refuse_at,
        batch_reply=100 * MAX_SCENES,  # 100 per scene; one scene per batch of these tests
        summary_reply=50,
        intro_reply=100,
        max_batch_tokens=400,
        prices=prices,
    )


def batches(n: int, words: int = 150) -> tuple[Batch, ...]:
    return tuple(Batch(i, (part(f"f{i}.py", words),)) for i in range(n))


def run(bs: tuple[Batch, ...], composer: Composer, pol: Policy, reply: int | None = None) -> list:
    """Drive the policy to the end; every reply has `reply` tokens (default: what the policy expects)."""
    state = ChatState(system=composer.system())
    calls = []
    while (step := next_step(state, bs, composer, pol)).call is not None:
        call = step.call
        preflight(call, pol)
        calls.append((step.state, call))
        size = call.reply_tokens if reply is None or call.kind is not CallKind.BATCH else reply
        answer = composer.projected_reply(str(len(calls)), size)
        state = apply_reply(step.state, call, answer, bs, composer, pol.keep_recent)
    return calls


@pytest.fixture
def composer(tmp_path: Path) -> Composer:
    return Composer(tiny_prompts(tmp_path / "prompts"), WordCounter())


@pytest.mark.parametrize("window", [4096, 8192, 16_000, 32_000, 128_000])
def test_the_batch_budget_is_a_fit_and_a_healthy_share(window: int) -> None:
    pol = make_policy(
        ModelInfo("m", window, 16_384), HistorySettings(0, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000)
    )
    budget = pol.batch_budget(SYSTEM_TOKENS)
    check_budget(pol, budget, SYSTEM_TOKENS)
    assert budget >= HEALTHY_SHARE * min(pol.input_limit, pol.max_batch_tokens)
    reply = pol.chapter_reply(pol.scenes_for(budget))
    # System prompt, a summary and its note, the new batch and its reply fit under the threshold.
    assert SYSTEM_TOKENS + pol.summary_reply + 48 + budget + reply <= pol.summary_at
    if window >= 128_000:
        assert budget == 24_000  # capped by max_batch_tokens


def test_a_kept_batch_is_paid_for_in_the_fit() -> None:
    model = ModelInfo("m", 32_000, 16_384)
    none = make_policy(model, HistorySettings(0, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000)).batch_budget(
        SYSTEM_TOKENS
    )
    kept = make_policy(model, HistorySettings(1, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000)).batch_budget(
        SYSTEM_TOKENS
    )
    assert kept < none


def test_2048_works_and_1024_refuses_with_a_reason() -> None:
    small = make_policy(
        ModelInfo("m", 2048, 2048), HistorySettings(0, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000)
    )
    check_budget(small, small.batch_budget(SYSTEM_TOKENS), SYSTEM_TOKENS)
    tiny = make_policy(
        ModelInfo("m", 1024, 1024), HistorySettings(0, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000)
    )
    with pytest.raises(DoesNotFitError) as refused:
        check_budget(tiny, tiny.batch_budget(SYSTEM_TOKENS), SYSTEM_TOKENS)
    assert "cannot hold the system prompt (418)" in refused.value.message
    assert "2,048" in refused.value.hint


def test_chapters_are_sized_to_their_batch() -> None:
    pol = make_policy(
        ModelInfo("m", 128_000, 16_384), HistorySettings(0, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000)
    )
    assert [pol.scenes_for(n) for n in (10, 2000, 2001, 9000, 24_000)] == [1, 1, 2, 5, MAX_SCENES]
    assert pol.chapter_reply(1) == 250 and pol.chapter_reply(MAX_SCENES) == 1500


def test_reply_sizes_are_learned_by_a_high_percentile(composer: Composer) -> None:
    pol = replace_reply(policy(), 30 * MAX_SCENES)  # assumed: 30 tokens per scene
    state = ChatState(system=composer.system())
    assert expected_reply(pol, state, CallKind.BATCH, 2) == 60
    seen = tuple(Seen(CallKind.BATCH, 2, t) for t in (20, 20, 20, 20, 20, 20, 20, 20, 20, 80))
    learned = ChatState(system=composer.system(), seen=(*seen, Seen(CallKind.SUMMARY, 0, 30)))
    assert expected_reply(pol, learned, CallKind.BATCH, 2) == 20  # p90 of per-scene 10 (x9) and 40 is 10
    assert expected_reply(pol, learned, CallKind.SUMMARY) == 30
    few = ChatState(system=composer.system(), seen=seen[-2:])
    assert expected_reply(pol, few, CallKind.BATCH, 1) == 40  # few samples: the largest
    assert expected_reply(pol, few, CallKind.SUMMARY) == 50  # none seen: the assumption
    assert expected_reply(pol, few, CallKind.BATCH, 10) == 100  # never above max_reply_tokens


def test_longer_replies_than_assumed_move_the_summary_earlier(composer: Composer) -> None:
    bs = batches(12)
    pol = replace_reply(policy(), 60 * MAX_SCENES)  # 60 per scene, one scene per batch
    planned = [c.kind for _, c in run(bs, composer, pol)]
    longer = run(bs, composer, pol, reply=90)
    # The summary decision uses the replies seen so far, so no batch call expects more than fits.
    assert [c.kind for _, c in longer].index(CallKind.SUMMARY) < planned.index(CallKind.SUMMARY)
    for _, call in longer:
        if call.kind is CallKind.BATCH and call.first > 1:
            assert call.reply_tokens == 90
            assert call.prompt_tokens + call.reply_tokens <= pol.summary_at


def replace_reply(pol: Policy, batch_reply: int) -> Policy:
    from dataclasses import replace

    return replace(pol, batch_reply=batch_reply)


def test_summary_falls_where_the_threshold_is_crossed(composer: Composer) -> None:
    sim = simulate(batches(8), composer, policy(), FREE)
    assert sim.refused is None and sim.folds == ()
    kinds = [c.kind for c in sim.calls]
    # Batch message = 4 (framing) + 2 ("batch N") + 3 (open tag) + 150 + 2 (close) = 161; chapters
    # 104 with framing, stubs 6: the threshold (850) would be crossed by the seventh batch.
    assert kinds[:8] == [CallKind.BATCH] * 6 + [CallKind.SUMMARY, CallKind.BATCH]
    assert [c.prompt_tokens for c in sim.calls][:8] == [169, 279, 389, 499, 609, 719, 674, 230]
    assert kinds[-1] is CallKind.INTRO
    assert sum(k is CallKind.BATCH for k in kinds) == 8
    for call in sim.calls:
        assert call.prompt_tokens <= 950


def test_every_batch_call_stays_under_threshold_and_summaries_never_follow_each_other(
    composer: Composer,
) -> None:
    pol = policy()
    sim = simulate(batches(30), composer, pol, FREE)
    assert sim.refused is None
    summaries = [c.index for c in sim.calls if c.kind is CallKind.SUMMARY]
    assert len(summaries) >= 3
    for call in sim.calls:
        if call.kind is CallKind.BATCH:
            assert call.prompt_tokens + call.reply_tokens <= pol.summary_at
    assert all(b - a > 1 for a, b in itertools.pairwise(summaries))


def test_prefix_is_stable_between_summaries(composer: Composer) -> None:
    calls = [c for _, c in run(batches(8), composer, policy())]
    # An answered batch is stubbed at once: each call repeats the previous one's history unchanged (a
    # cacheable prefix) and only the newest request differs.
    pairs = 0
    for before, after in itertools.pairwise(calls):
        if before.kind is CallKind.BATCH and after.kind is CallKind.BATCH:
            shared = len(before.messages) - 1
            assert after.messages[:shared] == before.messages[:shared]
            assert after.messages[shared] != before.messages[shared]
            pairs += 1
    assert pairs >= 4


def test_stubs_keep_the_most_recent_k_and_the_intro_sees_no_source(composer: Composer) -> None:
    bs = batches(4)
    for keep in (0, 1, 2):
        pol = policy(keep=keep, summary_at=10_000, refuse_at=10_000)
        calls = run(bs, composer, pol)
        state, last_batch = calls[3]
        assert last_batch.label == "batch 4"
        raw = [t.first for t in state.turns if not t.stubbed]
        assert raw == [1, 2, 3][3 - keep :]
        intro_state, intro = calls[-1]
        assert intro.kind is CallKind.INTRO
        assert all(t.stubbed for t in intro_state.turns)
        assert not any(m.content.startswith("batch ") for m in intro.messages)


def test_a_summary_may_use_the_whole_usable_window(composer: Composer) -> None:
    pol = policy(refuse_at=700)
    bs = batches(2)
    first = next_step(ChatState(system=composer.system()), bs, composer, pol).call
    assert first is not None
    # A long reply: the next batch does not fit, and the summary's prompt passes refuse_at.
    state = apply_reply(ChatState(composer.system()), first, composer.reply("x " * 700), bs, composer, 0)
    call = next_step(state, bs, composer, pol).call
    assert call is not None and call.kind is CallKind.SUMMARY
    assert pol.refuse_at < call.prompt_tokens <= pol.input_limit
    preflight(call, pol)


def test_old_turns_are_folded_without_the_model_when_even_a_summary_cannot_fit(composer: Composer) -> None:
    pol = policy()
    bs = batches(3)
    state = ChatState(system=composer.system())
    for _ in range(2):
        step = next_step(state, bs, composer, pol)
        assert step.call is not None and step.call.kind is CallKind.BATCH
        # Runaway replies (a server that ignores max_tokens): the history no longer fits any summary.
        state = apply_reply(step.state, step.call, composer.reply("x " * 500), bs, composer, 0)
    step = next_step(state, bs, composer, pol)
    assert step.state.folds == ("history: parts 1-1 were folded without the model to fit the window",)
    note = step.state.turns[0]
    assert note.folded and note.reply.content.startswith("folded 1 1")
    assert step.state.turns[1:] == state.turns[1:]  # oldest first: the newer turn is still there
    assert step.call is not None and step.call.label == "batch 3"  # the fold made room for it
    preflight(step.call, pol)


def test_a_summary_pays_when_resending_old_chapters_costs_more(composer: Composer) -> None:
    loose = policy(summary_at=100_000, refuse_at=100_000)
    assert CallKind.SUMMARY not in [c.kind for _, c in run(batches(12), composer, loose)]
    priced = policy(summary_at=100_000, refuse_at=100_000, prices=Prices(1.0, 0.5, 2.0))
    kinds = [c.kind for _, c in run(batches(12), composer, priced)]
    assert CallKind.SUMMARY in kinds


def test_preflight_refuses_oversized_call(composer: Composer) -> None:
    sim = simulate(batches(2, words=990), composer, policy(), FREE)
    assert sim.refused is not None
    assert "pre-flight" in sim.refused.message
    assert "lower max_batch_tokens below" in sim.refused.hint
    assert sim.calls == ()


def test_preflight_uses_measured_ratio(composer: Composer) -> None:
    pol = policy()
    call = next_step(ChatState(system=composer.system()), batches(1, words=700), composer, pol).call
    assert call is not None
    preflight(call, pol)  # 700-odd tokens fit under 950
    with pytest.raises(DoesNotFitError):
        preflight(call, pol, ratio=1.5)  # the server counts 50% more than tiktoken


def test_make_policy_for_gpt5_respects_max_input() -> None:
    gpt5 = ModelInfo("gpt-5", 400_000, 128_000, max_input_tokens=272_000)
    pol = make_policy(gpt5, HistorySettings(1, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000))
    assert pol.input_limit == 272_000
    assert pol.summary_at == int(272_000 * 0.85)


def test_make_policy_small_window_reserves_an_eighth() -> None:
    small = ModelInfo("local", 2048, 2048)
    pol = make_policy(small, HistorySettings(1, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000))
    assert pol.max_reply_tokens == 256  # chapters are sized to their batch: an eighth is room enough
    assert pol.input_limit == 1792
    assert pol.summary_reply == 149  # a summary takes at most a twelfth of a small window
    assert pol.scene_cap == 1  # one scene at the schema's longest fills most of the reserve


def test_deviations_name_the_first_differing_call() -> None:
    from lessongen.conversation.ledger import LedgerEntry
    from lessongen.session import deviations

    def entry(index: int, kind: str, label: str) -> LedgerEntry:
        return LedgerEntry(index, CallKind(kind), label, 10, 10, 1, 0, 0.0, 0.0, "stop", 1, 0.0, "text", True)

    class FakePlan:
        calls = tuple(
            type("C", (), {"label": label})() for label in ("batch 1", "batch 2", "batch 3", "intro")
        )

    same = (entry(1, "batch", "batch 1"), entry(2, "batch", "batch 2"))
    assert deviations(FakePlan(), same, "") == ()  # type: ignore[arg-type]
    moved = (entry(1, "batch", "batch 1"), entry(2, "summary", "summary 1-1"), entry(3, "repair", "repair x"))
    found = deviations(FakePlan(), moved, "")  # type: ignore[arg-type]
    assert found[0] == "1 repair turn(s) for unusable replies"
    assert found[1].startswith("calls differ from the plan from call 2 on: planned batch 2, made summary 1-1")
