"""The reflection pipeline: attempts stored through the real ingestion service, reflected on by
the offline coach or by small coaches written here, their candidates filed as strategies or as
evidence, failure modes turned into taxonomy proposals, and the sweep for forgotten attempts."""

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from practice.coach.base import (
    CandidateStrategy,
    CoachError,
    CoachResult,
    DecisionPoint,
)
from practice.coach.offline import TraceDiffCoach
from practice.models import (
    Attempt,
    Reflection,
    Strategy,
    StrategyEvidence,
    StrategyVersion,
)
from practice.services.attempts import record_attempts
from practice.services.reflection import (
    failure_mode_slug,
    queue_ready_strategies,
    reflect_attempt,
    reflections_to_sweep,
    retry_reflection,
)
from practice.services.strategies import change_status, propose_strategy
from taxonomy.models import Skill, TaxonomyProposal
from tests.factories import AgentFactory, SkillFactory

pytestmark = pytest.mark.django_db

RETURNS = "support.returns"
EMAIL = "yusuf.rossi7301@example.com"
CREDIT_CARD = "credit_card_9513926"
GIFT_CARD = "gift_card_7716"
WATER_BOTTLE = ("#W2378156", "4579334072")
HEADPHONES = ("#W4776164", "4202497723")
KEYBOARD = ("#W5918442", "1151293680")
THERMOSTAT = ("#W6390527", "4983901480")

# A concrete strategy that passes the quality gate, for the coaches written here.
CARD_REFUND = CandidateStrategy(
    skill_key=RETURNS,
    when="when the user asks for the refund of a returned item to go to a credit card",
    do="call return_delivered_order_items with payment_method_id set to the credit card id",
    because="the refund goes to whatever payment method id is passed and the user asked for the card",
)


# --- attempts, stored the way agents report them ---------------------------------------------


def returns_agent():
    """An agent working in the support subtree, which holds the returns skill."""
    SkillFactory(key=RETURNS)
    return AgentFactory(name="retail-agent", boundaries=["support"])


@pytest.fixture
def agent():
    return returns_agent()


def _call(number, name, arguments):
    return {
        "id": f"call_{number}",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(arguments)},
    }


def _result(number, content):
    return {"role": "tool", "tool_call_id": f"call_{number}", "content": json.dumps(content)}


def return_conversation(request, order_id, item_id, payment_method_id):
    """A return handled through tool calls; the refund goes to `payment_method_id`."""
    return [
        {"role": "system", "content": "You are a retail support agent."},
        {"role": "user", "content": request},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call(1, "find_user_id_by_email", {"email": EMAIL})],
        },
        _result(1, "yusuf_rossi_9620"),
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [_call(2, "get_order_details", {"order_id": order_id})],
        },
        _result(2, {"order_id": order_id, "status": "delivered"}),
        {
            "role": "assistant",
            "content": "I will process the return now.",
            "tool_calls": [
                _call(
                    3,
                    "return_delivered_order_items",
                    {
                        "order_id": order_id,
                        "item_ids": [item_id],
                        "payment_method_id": payment_method_id,
                    },
                )
            ],
        },
        _result(3, {"order_id": order_id, "status": "return requested"}),
        {"role": "assistant", "content": "Done: the return is requested."},
    ]


def return_attempt(order=WATER_BOTTLE, *, refund_to=GIFT_CARD, **fields):
    """A return attempt with its ground truth: the refund must go to the credit card. With the
    default `refund_to` the agent refunds to the gift card instead and fails."""
    order_id, item_id = order
    request = (
        f"Hi, please return item {item_id} from my order {order_id}; refund it to my credit card."
    )
    success = refund_to == CREDIT_CARD
    return {
        "skill": RETURNS,
        "success": success,
        "score": 1.0 if success else 0.0,
        "expected_actions": [
            {"name": "find_user_id_by_email", "arguments": {"email": EMAIL}},
            {"name": "get_order_details", "arguments": {"order_id": order_id}},
            {
                "name": "return_delivered_order_items",
                "arguments": {
                    "order_id": order_id,
                    "item_ids": [item_id],
                    "payment_method_id": CREDIT_CARD,
                },
            },
        ],
        "trace": {
            "format": "openai-chat",
            "messages": return_conversation(request, order_id, item_id, refund_to),
        },
        **fields,
    }


def steps_attempt(**fields):
    """A failed attempt reported as structured steps, without expected actions."""
    return {
        "skill": RETURNS,
        "success": False,
        "score": 0.2,
        "task_input": "Return the headphones from order #W4776164.",
        "trace": {
            "format": "steps",
            "steps": [
                {"action": "get_order_details", "expected": "delivered", "actual": "delivered"},
                {
                    "action": "check_return_window",
                    "expected": "within 30 days",
                    "actual": "outside the return window",
                    "ok": False,
                },
            ],
        },
        **fields,
    }


def store(agent, payload):
    (recorded,) = record_attempts(agent, [payload]).items
    return recorded.attempt


def attempt_row(attempt):
    return Attempt.objects.filter(pk=attempt.pk).values().get()


def pipeline_counts():
    return {
        "reflections": Reflection.objects.count(),
        "strategies": Strategy.objects.count(),
        "versions": StrategyVersion.objects.count(),
        "evidence": StrategyEvidence.objects.count(),
        "proposals": TaxonomyProposal.objects.count(),
    }


# --- coaches written for the tests (the Coach protocol, not our pipeline) ----------------------


class ScriptedCoach:
    """Answers every attempt with the same findings and candidate strategies."""

    name = "scripted"
    version = "1"

    def __init__(self, *strategies, failure_mode="", fault_type="wrong_argument"):
        self.strategies = list(strategies)
        self.failure_mode = failure_mode
        self.fault_type = fault_type
        self.calls = 0

    def reflect(self, view):
        self.calls += 1
        return CoachResult(
            performance_trace=[
                {"position": step.position, "action": step.action} for step in view.steps
            ],
            decision_points=[
                DecisionPoint(
                    position=2,
                    chosen=f"payment_method_id={GIFT_CARD}",
                    should_have_chosen=f"payment_method_id={CREDIT_CARD}",
                    why_it_mattered="the refund went to the wrong payment method",
                )
            ],
            fault_author="agent",
            fault_type=self.fault_type,
            causal_analysis="The refund went to the gift card the user did not ask for.",
            strategies=self.strategies,
            failure_mode=self.failure_mode,
            raw_output='{"scripted": true}',
            model="scripted-model",
            prompt_version="p1",
            prompt_tokens=120,
            completion_tokens=40,
            latency_ms=15,
        )


class FailingCoach:
    """A coach whose endpoint keeps failing."""

    name = "scripted"
    version = "1"

    def __init__(self, error=None):
        self.error = error or CoachError("the endpoint answered 503 three times")
        self.calls = 0

    def reflect(self, view):
        self.calls += 1
        raise self.error


class WrongAnswerCoach:
    """A coach that answers something other than a CoachResult."""

    name = "scripted"
    version = "1"

    def reflect(self, view):
        return {"fault_type": "wrong_argument"}


# --- a failed attempt --------------------------------------------------------------------------


def test_a_failed_attempt_gets_one_reflection_and_one_proposed_strategy_with_evidence(agent):
    attempt = store(agent, return_attempt())

    reflection = reflect_attempt(attempt.pk, coach=TraceDiffCoach())

    assert reflection == Reflection.objects.get()
    assert (reflection.attempt, reflection.coach_name, reflection.coach_version) == (
        attempt,
        "trace-diff",
        "1",
    )
    assert reflection.status == Reflection.Status.SUCCEEDED
    assert (reflection.fault_author, reflection.fault_type) == ("agent", "wrong_argument")
    assert reflection.failure_mode == "wrong_argument.payment_method_id"
    (point,) = reflection.decision_points
    assert point["position"] == 2
    assert f"payment_method_id={GIFT_CARD}" in point["chosen"]
    assert f"payment_method_id={CREDIT_CARD}" in point["should_have_chosen"]
    assert point["why_it_mattered"]
    assert GIFT_CARD in reflection.causal_analysis
    assert [row["status"] for row in reflection.performance_trace if "status" in row][:3] == [
        "match",
        "match",
        "wrong_argument",
    ]
    assert json.loads(reflection.raw_output)["fault_type"] == "wrong_argument"
    assert (reflection.tries, reflection.error) == (1, "")
    assert reflection.started_at <= reflection.finished_at
    assert reflection.latency_ms is not None

    strategy = Strategy.objects.get()
    assert (strategy.status, strategy.origin, strategy.skill.key) == ("proposed", "coach", RETURNS)
    assert strategy.support_count == 1
    assert strategy.conflicts_with is None
    assert strategy.current_version.do_text.startswith(
        f"call return_delivered_order_items with payment_method_id set to {CREDIT_CARD}"
    )
    evidence = StrategyEvidence.objects.get()
    assert (evidence.strategy, evidence.attempt, evidence.reflection) == (
        strategy,
        attempt,
        reflection,
    )
    assert list(queue_ready_strategies()) == [strategy]


def test_a_steps_trace_without_expected_actions_is_reflected_on_from_its_failed_step(agent):
    attempt = store(agent, steps_attempt())

    reflection = reflect_attempt(attempt.pk, coach=TraceDiffCoach())

    assert reflection.status == Reflection.Status.SUCCEEDED
    (point,) = reflection.decision_points
    assert point["position"] == 1
    assert "outside the return window" in point["chosen"]
    strategy = Strategy.objects.get()
    assert strategy.status == Strategy.Status.PROPOSED
    assert "within 30 days" in strategy.current_version.do_text


def test_reflecting_again_creates_nothing_more(agent):
    attempt = store(agent, return_attempt())
    first = reflect_attempt(attempt.pk, coach=TraceDiffCoach())
    counts = pipeline_counts()

    again = reflect_attempt(attempt.pk, coach=TraceDiffCoach())
    third = reflect_attempt(attempt.pk, coach=TraceDiffCoach())

    assert again.pk == third.pk == first.pk
    assert pipeline_counts() == counts
    reflection = Reflection.objects.get()
    assert (reflection.tries, reflection.finished_at) == (1, first.finished_at)
    assert Strategy.objects.get().support_count == 1


def test_another_coach_version_reflects_on_the_same_attempt_once_more(agent):
    attempt = store(agent, return_attempt())
    reflect_attempt(attempt.pk, coach=TraceDiffCoach())

    class NextVersion(TraceDiffCoach):
        version = "2"

    reflect_attempt(attempt.pk, coach=NextVersion())
    reflect_attempt(attempt.pk, coach=NextVersion())

    assert sorted(Reflection.objects.values_list("coach_version", flat=True)) == ["1", "2"]
    # The same finding from the new version supports the strategy the first one filed.
    strategy = Strategy.objects.get()
    assert strategy.support_count == 1
    assert StrategyEvidence.objects.get().reflection.coach_version == "1"


def test_a_second_worker_arriving_while_the_first_is_reflecting_does_nothing(agent):
    attempt = store(agent, return_attempt())
    second_coach = ScriptedCoach(CARD_REFUND)
    seen_by_second_worker = []

    class FirstWorkerCoach(ScriptedCoach):
        def reflect(self, view):
            # The message is delivered again while this coach is still thinking.
            seen_by_second_worker.append(reflect_attempt(view.attempt_id, coach=second_coach))
            return super().reflect(view)

    reflection = reflect_attempt(attempt.pk, coach=FirstWorkerCoach(CARD_REFUND))

    (seen,) = seen_by_second_worker
    assert seen.pk == reflection.pk
    assert seen.status == Reflection.Status.RUNNING
    assert second_coach.calls == 0
    assert Reflection.objects.get().status == Reflection.Status.SUCCEEDED
    assert (Reflection.objects.get().tries, Strategy.objects.count()) == (1, 1)


def test_an_abandoned_running_reflection_is_taken_over(agent):
    attempt = store(agent, return_attempt())
    Reflection.objects.create(
        attempt=attempt,
        coach_name="scripted",
        coach_version="1",
        status=Reflection.Status.RUNNING,
        tries=1,
        started_at=timezone.now() - timedelta(hours=2),
    )
    coach = ScriptedCoach(CARD_REFUND)

    reflection = reflect_attempt(attempt.pk, coach=coach)

    assert coach.calls == 1
    assert (reflection.status, reflection.tries) == (Reflection.Status.SUCCEEDED, 2)
    assert Strategy.objects.get().support_count == 1


def test_a_recently_started_reflection_is_left_to_its_worker(agent):
    attempt = store(agent, return_attempt())
    Reflection.objects.create(
        attempt=attempt,
        coach_name="scripted",
        coach_version="1",
        status=Reflection.Status.RUNNING,
        tries=1,
        started_at=timezone.now() - timedelta(minutes=1),
    )
    coach = ScriptedCoach(CARD_REFUND)

    reflection = reflect_attempt(attempt.pk, coach=coach)

    assert coach.calls == 0
    assert (reflection.status, reflection.tries) == (Reflection.Status.RUNNING, 1)
    assert not Strategy.objects.exists()


def test_a_result_arriving_after_another_worker_took_over_is_discarded(agent):
    attempt = store(agent, return_attempt())
    other = CandidateStrategy(
        skill_key=RETURNS,
        when="when the order holds an item the user did not name in the request",
        do="leave that item out of item_ids when calling return_delivered_order_items",
        because="only the items the user named may be returned and refunded to the user",
    )

    class SlowCoach(ScriptedCoach):
        def reflect(self, view):
            # This worker is so slow that its claim looks abandoned and another one takes over.
            Reflection.objects.filter(attempt_id=view.attempt_id).update(
                started_at=timezone.now() - timedelta(hours=2)
            )
            reflect_attempt(view.attempt_id, coach=ScriptedCoach(other))
            return super().reflect(view)

    returned = reflect_attempt(attempt.pk, coach=SlowCoach(CARD_REFUND))

    reflection = Reflection.objects.get()
    assert returned.pk == reflection.pk
    assert (reflection.status, reflection.tries) == (Reflection.Status.SUCCEEDED, 2)
    strategy = Strategy.objects.get()
    assert strategy.current_version.when_text == other.when


def test_a_failure_arriving_after_another_worker_succeeded_leaves_the_success(agent):
    attempt = store(agent, return_attempt())

    class SlowFailingCoach(FailingCoach):
        def reflect(self, view):
            Reflection.objects.filter(attempt_id=view.attempt_id).update(
                started_at=timezone.now() - timedelta(hours=2)
            )
            reflect_attempt(view.attempt_id, coach=ScriptedCoach(CARD_REFUND))
            return super().reflect(view)

    reflect_attempt(attempt.pk, coach=SlowFailingCoach())

    reflection = Reflection.objects.get()
    assert (reflection.status, reflection.error) == (Reflection.Status.SUCCEEDED, "")
    assert Strategy.objects.get().support_count == 1


# --- evidence, the quality gate and conflicts --------------------------------------------------


def test_a_second_failure_with_the_same_mistake_adds_evidence_instead_of_a_strategy(agent):
    first = store(agent, return_attempt(WATER_BOTTLE))
    second = store(agent, return_attempt(HEADPHONES))

    reflect_attempt(first.pk, coach=TraceDiffCoach())
    reflect_attempt(second.pk, coach=TraceDiffCoach())

    strategy = Strategy.objects.get()
    assert strategy.support_count == 2
    assert set(strategy.evidence.all()) == {first, second}
    assert strategy.versions.count() == 1
    # The second reflection is recorded as the source of the second piece of evidence.
    assert StrategyEvidence.objects.get(attempt=second).reflection.attempt == second


def test_a_vague_candidate_is_kept_filtered_with_the_reasons(agent):
    vague = CandidateStrategy(
        skill_key=RETURNS, when="when in doubt", do="be careful", because="it is important"
    )
    attempt = store(agent, return_attempt())

    reflect_attempt(attempt.pk, coach=ScriptedCoach(vague))

    strategy = Strategy.objects.get()
    assert strategy.status == Strategy.Status.FILTERED
    assert 'the action (do) is vague ("be careful")' in strategy.filtered_reason
    assert "the trigger (when) names no concrete situation" in strategy.filtered_reason
    assert 'the reason (because) explains nothing ("it is important")' in strategy.filtered_reason
    assert (strategy.current_version.do_text, strategy.support_count) == ("be careful", 1)
    assert list(queue_ready_strategies()) == []


def test_a_vague_candidate_seen_again_adds_evidence_to_the_filtered_one(agent):
    vague = CandidateStrategy(
        skill_key=RETURNS, when="when in doubt", do="be careful", because="it is important"
    )
    first = store(agent, return_attempt(WATER_BOTTLE))
    second = store(agent, return_attempt(HEADPHONES))

    reflect_attempt(first.pk, coach=ScriptedCoach(vague))
    reflect_attempt(second.pk, coach=ScriptedCoach(vague))

    strategy = Strategy.objects.get()
    assert (strategy.status, strategy.support_count) == (Strategy.Status.FILTERED, 2)


def test_a_good_candidate_is_not_merged_into_a_filtered_one(agent):
    filtered = propose_strategy(
        skill=Skill.objects.get(key=RETURNS),
        when=CARD_REFUND.when,
        do=CARD_REFUND.do,
        because="it is important",
        filtered_reason='the reason (because) explains nothing ("it is important")',
    )
    attempt = store(agent, return_attempt())

    reflect_attempt(attempt.pk, coach=ScriptedCoach(CARD_REFUND))

    proposed = Strategy.objects.exclude(pk=filtered.pk).get()
    assert proposed.status == Strategy.Status.PROPOSED
    filtered.refresh_from_db()
    assert filtered.support_count == 0


def test_a_candidate_with_the_trigger_of_a_live_strategy_and_another_action_is_a_conflict(agent):
    live = propose_strategy(
        skill=Skill.objects.get(key=RETURNS),
        when=CARD_REFUND.when,
        do=CARD_REFUND.do,
        because=CARD_REFUND.because,
    )
    change_status(live, Strategy.Status.LIVE)
    contrary = CandidateStrategy(
        skill_key=RETURNS,
        when=CARD_REFUND.when,
        do="offer store credit on a gift card first and refund to the card only if refused",
        because="store credit keeps the money with the shop and most users accept the offer",
    )
    attempt = store(agent, return_attempt())

    reflect_attempt(attempt.pk, coach=ScriptedCoach(contrary))

    flagged = Strategy.objects.exclude(pk=live.pk).get()
    assert flagged.status == Strategy.Status.PROPOSED
    assert flagged.conflicts_with == live
    assert list(live.conflicting.all()) == [flagged]
    assert flagged.support_count == 1
    live.refresh_from_db()
    assert (live.status, live.support_count) == (Strategy.Status.LIVE, 0)


def test_a_candidate_repeating_a_live_strategy_supports_it(agent):
    live = propose_strategy(
        skill=Skill.objects.get(key=RETURNS),
        when=CARD_REFUND.when,
        do=CARD_REFUND.do,
        because=CARD_REFUND.because,
    )
    change_status(live, Strategy.Status.LIVE)
    attempt = store(agent, return_attempt())

    reflect_attempt(attempt.pk, coach=ScriptedCoach(CARD_REFUND))

    assert Strategy.objects.get() == live
    live.refresh_from_db()
    assert (live.status, live.support_count) == (Strategy.Status.LIVE, 1)
    assert list(live.evidence.all()) == [attempt]


def test_a_candidate_is_filed_under_its_skill_only_inside_the_attempts_subtree(agent):
    SkillFactory(key=f"{RETURNS}.refunds")
    SkillFactory(key="support.billing")
    into_child = CandidateStrategy(**{**CARD_REFUND.__dict__, "skill_key": f"{RETURNS}.refunds"})
    elsewhere = CandidateStrategy(
        skill_key="support.billing",
        when="when the order holds an item the user did not name in the request",
        do="leave that item out of item_ids when calling return_delivered_order_items",
        because="only the items the user named may be returned and refunded to the user",
    )
    unknown = CandidateStrategy(
        skill_key=f"{RETURNS}.nowhere",
        when="when the user gives an email address that finds no account",
        do="ask for the name and zip code and call find_user_id_by_name_zip",
        because="an account can be found by name and zip code when the email is not on file",
    )
    attempt = store(agent, return_attempt())

    reflect_attempt(attempt.pk, coach=ScriptedCoach(into_child, elsewhere, unknown))

    skill_of = {
        strategy.current_version.when_text: strategy.skill.key
        for strategy in Strategy.objects.select_related("skill", "current_version")
    }
    assert skill_of == {
        into_child.when: f"{RETURNS}.refunds",
        elsewhere.when: RETURNS,
        unknown.when: RETURNS,
    }


def test_proposals_with_too_little_support_stay_out_of_the_queue(agent, settings):
    settings.ETUDE_MIN_SUPPORT = 2
    first = store(agent, return_attempt(WATER_BOTTLE))
    second = store(agent, return_attempt(HEADPHONES))

    reflect_attempt(first.pk, coach=TraceDiffCoach())
    assert list(queue_ready_strategies()) == []

    reflect_attempt(second.pk, coach=TraceDiffCoach())
    assert list(queue_ready_strategies()) == [Strategy.objects.get()]


# --- failures of the coach ---------------------------------------------------------------------


def test_a_coach_error_fails_the_reflection_and_a_retry_with_a_working_coach_succeeds(agent):
    attempt = store(agent, return_attempt())
    before = attempt_row(attempt)

    failed = reflect_attempt(attempt.pk, coach=FailingCoach())

    assert failed.status == Reflection.Status.FAILED
    assert failed.error == "the endpoint answered 503 three times"
    assert failed.finished_at is not None
    assert attempt_row(attempt) == before
    assert not Strategy.objects.exists()

    # A redelivered message does not retry on its own.
    working = ScriptedCoach(CARD_REFUND)
    assert reflect_attempt(attempt.pk, coach=working).status == Reflection.Status.FAILED
    assert working.calls == 0

    retried = retry_reflection(failed, coach=working)

    assert retried.pk == failed.pk
    assert (retried.status, retried.error, retried.tries) == (Reflection.Status.SUCCEEDED, "", 2)
    assert (retried.model, retried.prompt_version) == ("scripted-model", "p1")
    assert (retried.prompt_tokens, retried.completion_tokens, retried.latency_ms) == (120, 40, 15)
    assert Strategy.objects.get().support_count == 1
    assert attempt_row(attempt) == before

    # Retrying what already succeeded does nothing.
    counts = pipeline_counts()
    assert retry_reflection(retried, coach=working).tries == 2
    assert (working.calls, pipeline_counts()) == (1, counts)


@pytest.mark.parametrize(
    ("coach", "error"),
    [
        (
            FailingCoach(ValueError("unexpected token in JSON")),
            "ValueError: unexpected token in JSON",
        ),
        (FailingCoach(TimeoutError()), "TimeoutError"),
        (WrongAnswerCoach(), "the coach answered dict, not a CoachResult"),
    ],
)
def test_whatever_goes_wrong_in_the_coach_is_a_failed_reflection_not_a_crash(agent, coach, error):
    attempt = store(agent, return_attempt())

    reflection = reflect_attempt(attempt.pk, coach=coach)

    assert (reflection.status, reflection.error) == (Reflection.Status.FAILED, error)
    assert not Strategy.objects.exists()


def test_a_retry_after_the_coach_changed_reflects_with_the_new_coach(agent):
    attempt = store(agent, return_attempt())
    failed = reflect_attempt(attempt.pk, coach=FailingCoach())

    reflection = retry_reflection(failed, coach=TraceDiffCoach())

    assert (reflection.coach_name, reflection.status) == ("trace-diff", "succeeded")
    failed.refresh_from_db()
    assert failed.status == Reflection.Status.FAILED


# --- what is not learned from ------------------------------------------------------------------


def test_an_out_of_bounds_attempt_is_not_reflected_on(agent):
    SkillFactory(key="sales.upsell")
    attempt = store(agent, {**return_attempt(), "skill": "sales.upsell"})
    assert attempt.out_of_bounds
    coach = ScriptedCoach(CARD_REFUND, failure_mode="wrong_refund_target")

    assert reflect_attempt(attempt.pk, coach=coach) is None

    assert coach.calls == 0
    assert pipeline_counts() == dict.fromkeys(pipeline_counts(), 0)
    everything_so_far = timezone.now() + timedelta(minutes=1)
    assert reflections_to_sweep(everything_so_far, coach=coach) == []


def test_a_successful_attempt_is_reflected_on_but_proposes_nothing(agent):
    live = propose_strategy(
        skill=Skill.objects.get(key=RETURNS),
        when=CARD_REFUND.when,
        do=CARD_REFUND.do,
        because=CARD_REFUND.because,
    )
    change_status(live, Strategy.Status.LIVE)
    attempt = store(
        agent,
        return_attempt(refund_to=CREDIT_CARD, used_strategies=[live.current_version_id]),
    )

    reflection = reflect_attempt(attempt.pk, coach=TraceDiffCoach())

    assert reflection.status == Reflection.Status.SUCCEEDED
    assert (reflection.fault_author, reflection.fault_type) == ("none", "none")
    assert reflection.decision_points == []
    assert reflection.performance_trace
    assert list(Strategy.objects.all()) == [live]
    live.refresh_from_db()
    assert live.support_count == 0
    assert not StrategyEvidence.objects.exists()
    assert not TaxonomyProposal.objects.exists()


# --- taxonomy discovery ------------------------------------------------------------------------


def test_a_failure_mode_seen_three_times_is_proposed_once_as_a_new_failure_mode(agent):
    attempts = [
        store(agent, return_attempt(order))
        for order in (WATER_BOTTLE, HEADPHONES, KEYBOARD, THERMOSTAT)
    ]
    for attempt in attempts[:2]:
        reflect_attempt(attempt.pk, coach=TraceDiffCoach())
    assert not TaxonomyProposal.objects.exists()

    reflect_attempt(attempts[2].pk, coach=TraceDiffCoach())

    proposal = TaxonomyProposal.objects.get()
    assert proposal.key == f"{RETURNS}.wrong_argument_payment_method_id"
    assert proposal.parent.key == RETURNS
    assert proposal.kind == Skill.Kind.FAILURE_MODE
    assert proposal.status == TaxonomyProposal.Status.PROPOSED
    assert (proposal.proposer_type, proposal.proposer_name) == ("coach", "trace-diff 1")
    assert proposal.evidence == sorted(attempt.pk for attempt in attempts[:3])
    assert "3 failed attempts" in proposal.rationale
    assert "wrong argument" in proposal.rationale
    assert not Skill.objects.filter(key=proposal.key).exists()

    reflect_attempt(attempts[3].pk, coach=TraceDiffCoach())

    assert TaxonomyProposal.objects.count() == 1


def test_discovery_reads_its_threshold_from_the_settings(agent, settings):
    settings.ETUDE_DISCOVERY_MIN_EVIDENCE = 2
    coach = ScriptedCoach(CARD_REFUND, failure_mode="Refund sent to the wrong card")
    for order in (WATER_BOTTLE, HEADPHONES):
        reflect_attempt(store(agent, return_attempt(order)).pk, coach=coach)

    proposal = TaxonomyProposal.objects.get()
    assert proposal.key == f"{RETURNS}.refund_sent_to_the_wrong_card"
    assert proposal.name == "Refund sent to the wrong card"


def test_no_proposal_for_a_failure_mode_the_taxonomy_already_has(agent):
    SkillFactory(key=f"{RETURNS}.wrong_refund_target")
    coach = ScriptedCoach(CARD_REFUND, failure_mode="wrong refund target")
    for order in (WATER_BOTTLE, HEADPHONES, KEYBOARD):
        reflect_attempt(store(agent, return_attempt(order)).pk, coach=coach)

    assert not TaxonomyProposal.objects.exists()


def test_successful_attempts_do_not_count_as_evidence_of_a_failure_mode(agent):
    coach = ScriptedCoach(failure_mode="wrong refund target")
    for order in (HEADPHONES, KEYBOARD):
        attempt = store(agent, return_attempt(order, refund_to=CREDIT_CARD))
        reflect_attempt(attempt.pk, coach=coach)
    reflect_attempt(store(agent, return_attempt(WATER_BOTTLE)).pk, coach=coach)

    assert Reflection.objects.filter(failure_mode="wrong refund target").count() == 3
    assert not TaxonomyProposal.objects.exists()


def test_a_failure_mode_that_names_no_failure_is_never_proposed(agent):
    coach = ScriptedCoach(failure_mode="other", fault_type="other")
    for order in (WATER_BOTTLE, HEADPHONES, KEYBOARD):
        reflect_attempt(store(agent, return_attempt(order)).pk, coach=coach)

    assert Reflection.objects.filter(failure_mode="other").count() == 3
    assert not TaxonomyProposal.objects.exists()


def test_a_rejected_failure_mode_proposal_is_not_filed_again(agent):
    coach = ScriptedCoach(failure_mode="wrong refund target")
    orders = (WATER_BOTTLE, HEADPHONES, KEYBOARD, THERMOSTAT)
    attempts = [store(agent, return_attempt(order)) for order in orders]
    for attempt in attempts[:3]:
        reflect_attempt(attempt.pk, coach=coach)
    TaxonomyProposal.objects.update(
        status=TaxonomyProposal.Status.REJECTED, decided_at=timezone.now()
    )

    reflect_attempt(attempts[3].pk, coach=coach)

    assert TaxonomyProposal.objects.get().status == TaxonomyProposal.Status.REJECTED


@pytest.mark.parametrize(
    ("failure_mode", "slug"),
    [
        ("wrong_argument.payment_method_id", "wrong_argument_payment_method_id"),
        ("Refund sent to the WRONG card!", "refund_sent_to_the_wrong_card"),
        ("3 items missing", "items_missing"),
        ("x" * 70, "x" * 60),
        ("___", ""),
        ("", ""),
    ],
)
def test_a_failure_mode_becomes_one_key_segment(failure_mode, slug):
    assert failure_mode_slug(failure_mode) == slug


# --- the sweep ---------------------------------------------------------------------------------


def test_the_sweep_lists_in_bounds_attempts_the_coach_has_not_reflected_on(agent):
    SkillFactory(key="sales.upsell")
    coach = ScriptedCoach(CARD_REFUND)
    now = timezone.now()

    def aged(payload, minutes):
        attempt = store(agent, payload)
        Attempt.objects.filter(pk=attempt.pk).update(created_at=now - timedelta(minutes=minutes))
        return attempt

    forgotten = aged(return_attempt(WATER_BOTTLE), 60)
    older_forgotten = aged(return_attempt(HEADPHONES), 90)
    reflected = aged(return_attempt(KEYBOARD), 60)
    reflect_attempt(reflected.pk, coach=coach)
    failed = aged(return_attempt(THERMOSTAT), 60)
    reflect_attempt(failed.pk, coach=FailingCoach())
    abandoned = aged(steps_attempt(), 60)
    Reflection.objects.create(
        attempt=abandoned,
        coach_name=coach.name,
        coach_version=coach.version,
        status=Reflection.Status.RUNNING,
        tries=1,
        started_at=now - timedelta(hours=2),
    )
    aged({**return_attempt(), "skill": "sales.upsell"}, 60)  # out of bounds
    store(agent, return_attempt(WATER_BOTTLE))  # too recent

    swept = reflections_to_sweep(now - timedelta(minutes=10), coach=coach)

    assert swept == [older_forgotten.pk, forgotten.pk, abandoned.pk]
    assert reflections_to_sweep(timedelta(minutes=10), coach=coach) == swept
    assert reflections_to_sweep(timedelta(minutes=10), coach=coach, limit=1) == [older_forgotten.pk]
    # A reflection by another coach does not count for this one.
    assert reflected.pk in reflections_to_sweep(timedelta(minutes=10), coach=TraceDiffCoach())

    reflect_attempt(forgotten.pk, coach=coach)
    assert forgotten.pk not in reflections_to_sweep(timedelta(minutes=10), coach=coach)
