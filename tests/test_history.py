import itertools
from pathlib import Path

import pytest
from helpers import WordCounter, part, tiny_prompts

from lessongen.config.groups import HistorySettings
from lessongen.conversation.compose import Composer
from lessongen.conversation.dry_run import simulate
from lessongen.conversation.history import (
    CallKind,
    ChatState,
    Policy,
    apply_reply,
    billable_cached,
    make_policy,
    next_call,
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


def policy(keep: int = 1, summary_at: int = 850, refuse_at: int = 950) -> Policy:
    return Policy(
        input_limit=1000,
        max_reply_tokens=100,
        keep_recent=keep,
        summary_at=summary_at,
        refuse_at=refuse_at,
        batch_reply=100,
        summary_reply=50,
        intro_reply=100,
        max_batch_tokens=400,
    )


def batches(n: int, words: int = 150) -> tuple[Batch, ...]:
    return tuple(Batch(i, (part(f"f{i}.py", words),)) for i in range(n))


@pytest.fixture
def composer(tmp_path: Path) -> Composer:
    return Composer(tiny_prompts(tmp_path / "prompts"), WordCounter())


def test_summary_falls_where_the_threshold_is_crossed(composer: Composer) -> None:
    # Message framing is 3 + 1 (role) words; batch message = 4 + 2 + 3 (open tag) + 150 + 2 (close) = 161.
    sim = simulate(batches(6), composer, policy(), FREE)
    assert sim.refused is None
    kinds = [c.kind for c in sim.calls]
    prompts = [c.prompt_tokens for c in sim.calls]
    assert kinds[:6] == [CallKind.BATCH] * 4 + [CallKind.SUMMARY, CallKind.BATCH]
    # Hand-computed: stubs (6) replace answered source once a newer batch is answered (K=1).
    assert prompts[:6] == [169, 434, 544, 654, 609, 495]
    assert kinds[-1] is CallKind.INTRO
    assert sum(k is CallKind.BATCH for k in kinds) == 6
    for call in sim.calls:
        assert call.prompt_tokens <= 950


def test_every_batch_call_stays_under_threshold_when_foldable(composer: Composer) -> None:
    pol = policy()
    sim = simulate(batches(30), composer, pol, FREE)
    assert sim.refused is None
    summaries = [c.index for c in sim.calls if c.kind is CallKind.SUMMARY]
    assert len(summaries) >= 3
    for call in sim.calls:
        if call.kind is CallKind.BATCH:
            assert call.prompt_tokens + pol.batch_reply <= pol.summary_at
    # Summaries come in single large steps: never two in a row.
    assert all(b - a > 1 for a, b in itertools.pairwise(summaries))


def test_prefix_is_stable_between_summaries(composer: Composer) -> None:
    pol = policy(keep=0)
    state = ChatState(system=composer.system())
    bs = batches(8)
    sent = []
    while (call := next_call(state, bs, composer, pol)) is not None:
        sent.append(call)
        state = apply_reply(state, call, composer.projected_reply(str(len(sent)), 100), bs, composer, 0)
    # With K=0 an answered batch is stubbed at once: each call repeats the previous one's history
    # unchanged (a cacheable prefix) and only the newest request differs.
    pairs = 0
    for before, after in itertools.pairwise(sent):
        if before.kind is CallKind.BATCH and after.kind is CallKind.BATCH:
            shared = len(before.messages) - 1
            assert after.messages[:shared] == before.messages[:shared]
            assert after.messages[shared] != before.messages[shared]
            pairs += 1
    assert pairs >= 4


def test_stubs_keep_the_most_recent_k(composer: Composer) -> None:
    bs = batches(4)
    for keep in (0, 1, 2):
        pol = policy(keep=keep, summary_at=10_000, refuse_at=10_000)
        state = ChatState(system=composer.system())
        for _ in range(4):
            call = next_call(state, bs, composer, pol)
            assert call is not None and call.kind is CallKind.BATCH
            state = apply_reply(state, call, composer.reply("ok"), bs, composer, keep)
        raw = [t.first for t in state.turns if not t.stubbed]
        assert raw == [1, 2, 3, 4][4 - keep :]
        stubbed = [t for t in state.turns if t.stubbed]
        assert all(t.request.content.startswith("stub ") for t in stubbed)


def test_preflight_refuses_oversized_call(composer: Composer) -> None:
    sim = simulate(batches(2, words=990), composer, policy(), FREE)
    assert sim.refused is not None
    assert "pre-flight" in sim.refused.message
    assert sim.calls == ()


def test_preflight_uses_measured_ratio(composer: Composer) -> None:
    pol = policy()
    call = next_call(ChatState(system=composer.system()), batches(1, words=700), composer, pol)
    assert call is not None
    preflight(call, pol)  # 700-odd tokens fit under 950
    with pytest.raises(DoesNotFitError):
        preflight(call, pol, ratio=1.5)  # the server counts 50% more than tiktoken


def test_billable_cached_rule() -> None:
    assert [billable_cached(n) for n in (0, 1023, 1024, 1151, 1152, 5000)] == [0, 0, 1024, 1024, 1152, 4992]


def test_make_policy_for_gpt5_respects_max_input() -> None:
    gpt5 = ModelInfo("gpt-5", 400_000, 128_000, max_input_tokens=272_000)
    pol = make_policy(gpt5, HistorySettings(1, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000))
    assert pol.input_limit == 272_000
    assert pol.summary_at == int(272_000 * 0.85)


def test_make_policy_small_window_reserves_a_quarter() -> None:
    small = ModelInfo("local", 2048, 2048)
    pol = make_policy(small, HistorySettings(1, 0.85, 0.95, 4096, 1500, 1200, 1500, 24_000))
    assert pol.max_reply_tokens == 512
    assert pol.input_limit == 1536


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
