"""Recording attempts: stored atomically, idempotent by external_id, flagged out of bounds,
feeding strategy counters and completing practice assignments."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practice.models import (
    Attempt,
    PracticeAssignment,
    PracticeScenario,
    Strategy,
    StrategyUse,
    TraceStep,
)
from practice.services import attempts as attempts_service
from practice.services.attempts import AttemptInputError, record_attempt, record_attempts
from practice.services.strategies import propose_strategy, revise_strategy
from taxonomy.services import set_skill_active
from tests.factories import AgentFactory, AttemptFactory, SkillFactory
from tests.practice.test_traces import FIRST_REQUEST, ORDER_DETAILS, retail_return_conversation

pytestmark = pytest.mark.django_db

RETURNS = "support.returns"


@pytest.fixture
def agent():
    SkillFactory(key=RETURNS)
    return AgentFactory(name="retail-agent", boundaries=["support"])


def steps_attempt(skill=RETURNS, steps=2, **fields):
    return {
        "skill": skill,
        "success": False,
        "score": 0.4,
        "trace": {
            "format": "steps",
            "steps": [
                {
                    "action": f"tool_{position}",
                    "arguments": {"order_id": "#W2378156", "position": position},
                    "expected": "return requested",
                    "actual": "Error: payment method not found" if position else "ok",
                    "ok": position == 0,
                    "note": f"step {position}",
                }
                for position in range(steps)
            ],
        },
        **fields,
    }


def chat_attempt(**fields):
    return {
        "skill": RETURNS,
        "success": True,
        "score": 1,
        "trace": {"format": "openai-chat", "messages": retail_return_conversation()},
        **fields,
    }


def problems_raised(call):
    with pytest.raises(AttemptInputError) as raised:
        call()
    return raised.value.problems


# --- success paths ------------------------------------------------------------------------------


def test_a_steps_attempt_is_stored_with_its_steps_in_order(agent):
    (recorded,) = record_attempts(
        agent,
        [
            steps_attempt(
                steps=3,
                difficulty=0.7,
                task_input="Return the water bottle.",
                expected_actions=[{"name": "get_order_details"}],
            )
        ],
    ).items

    attempt = Attempt.objects.get()
    assert recorded == (attempt, True)
    assert recorded.attempt.step_count == 3
    assert attempt.agent == agent
    assert attempt.skill.key == RETURNS
    assert attempt.source == Attempt.Source.LIVE
    assert (attempt.success, attempt.score, attempt.difficulty) == (False, 0.4, 0.7)
    assert attempt.task_input == "Return the water bottle."
    assert attempt.expected_actions == [{"name": "get_order_details", "arguments": {}}]
    assert attempt.trace_format == Attempt.TraceFormat.STEPS
    assert attempt.trace_messages is None
    assert attempt.out_of_bounds is False
    steps = list(attempt.steps.order_by("position"))
    assert [(step.position, step.action, step.ok) for step in steps] == [
        (0, "tool_0", True),
        (1, "tool_1", False),
        (2, "tool_2", False),
    ]
    assert steps[2].arguments == {"order_id": "#W2378156", "position": 2}
    assert (steps[1].expected, steps[1].actual, steps[1].note) == (
        "return requested",
        "Error: payment method not found",
        "step 1",
    )
    assert steps[0].raw_message is None


def test_a_chat_attempt_is_stored_as_normalized_steps_and_keeps_the_messages(agent):
    expected_actions = [
        {"name": "find_user_id_by_email", "arguments": {"email": "yusuf.rossi7301@example.com"}},
        {"name": "get_order_details", "arguments": {"order_id": "#W2378156"}},
        {
            "name": "return_delivered_order_items",
            "arguments": {
                "order_id": "#W2378156",
                "item_ids": ["4579334072"],
                "payment_method_id": "credit_card_9513926",
            },
        },
    ]

    attempt, created = record_attempt(agent, chat_attempt(expected_actions=expected_actions))

    assert created is True
    attempt.refresh_from_db()
    assert attempt.trace_format == Attempt.TraceFormat.OPENAI_CHAT
    assert attempt.trace_messages == retail_return_conversation()
    assert attempt.task_input == FIRST_REQUEST
    assert attempt.expected_actions == expected_actions
    steps = list(attempt.steps.order_by("position"))
    assert [(step.action, step.ok) for step in steps] == [
        ("respond", None),
        ("find_user_id_by_email", None),
        ("get_order_details", False),
        ("get_order_details", None),
        ("get_user_details", None),
        ("respond", None),
        ("return_delivered_order_items", None),
        ("respond", None),
    ]
    assert steps[2].arguments == {"order_id": "W2378156"}
    assert steps[2].actual == "Error: order not found"
    assert json.loads(steps[3].actual) == ORDER_DETAILS
    assert steps[6].raw_message == retail_return_conversation()[13]
    assert steps[7].actual.startswith("Done: the return of the Water Bottle is requested.")


def test_the_result_keeps_the_order_of_the_request(agent):
    SkillFactory(key="support.exchanges")

    result = record_attempts(
        agent,
        [steps_attempt(score=0.1), steps_attempt("support.exchanges", score=0.2), chat_attempt()],
    )

    assert [(attempt.skill.key, attempt.score) for attempt, _ in result.items] == [
        (RETURNS, 0.1),
        ("support.exchanges", 0.2),
        (RETURNS, 1.0),
    ]
    assert [attempt.pk for attempt in result.created] == [attempt.pk for attempt, _ in result.items]
    assert result.replayed == []
    assert TraceStep.objects.count() == 2 + 2 + 8


# --- refusals and atomicity ---------------------------------------------------------------------


def test_an_invalid_attempt_stores_nothing_and_lists_every_problem(agent):
    payloads = [steps_attempt(), steps_attempt(score=2), steps_attempt(success="yes")]

    problems = problems_raised(lambda: record_attempts(agent, payloads))

    assert problems == [
        ("attempts[1].score", "must be a number between 0 and 1"),
        ("attempts[2].success", "must be true or false"),
    ]
    assert Attempt.objects.count() == 0


def test_a_batch_whose_third_attempt_names_an_unknown_skill_stores_nothing(agent):
    payloads = [steps_attempt(), chat_attempt(), steps_attempt("support.warranty")]

    problems = problems_raised(lambda: record_attempts(agent, payloads))

    assert problems == [("attempts[2].skill", "unknown skill support.warranty")]
    assert Attempt.objects.count() == 0
    assert TraceStep.objects.count() == 0


def test_a_failure_at_the_last_write_leaves_nothing_behind(agent):
    """The third attempt completes a practice assignment, the last write of the request; when
    it fails, the attempts and steps already written are rolled back with it."""
    assignment = _assignment(agent)

    def refuse_completion(execute, sql, params, many, context):
        if sql.startswith('UPDATE "practice_practiceassignment"'):
            raise RuntimeError("assignment locked")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_completion):
        with pytest.raises(RuntimeError, match="assignment locked"):
            record_attempts(
                agent,
                [steps_attempt(), chat_attempt(), steps_attempt(scenario=assignment.scenario_id)],
            )

    assert (Attempt.objects.count(), TraceStep.objects.count()) == (0, 0)
    assignment.refresh_from_db()
    assert assignment.status == PracticeAssignment.Status.CLAIMED


def test_an_unknown_skill_in_a_single_attempt_is_reported_at_the_root(agent):
    problems = problems_raised(lambda: record_attempt(agent, steps_attempt("support.warranty")))

    assert problems == [("skill", "unknown skill support.warranty")]


def test_a_deactivated_skill_is_refused(agent):
    set_skill_active(SkillFactory(key="support.legacy_returns"), False)

    problems = problems_raised(
        lambda: record_attempts(agent, [steps_attempt("support.legacy_returns")])
    )

    assert problems == [("attempts[0].skill", "skill support.legacy_returns is deactivated")]


def test_unknown_strategy_versions_are_reported_with_their_index(agent):
    strategy = _live_strategy()
    missing = strategy.current_version.pk + 1000

    problems = problems_raised(
        lambda: record_attempts(
            agent,
            [
                steps_attempt(used_strategies=[strategy.current_version.pk]),
                steps_attempt(used_strategies=[strategy.current_version.pk, missing]),
            ],
        )
    )

    assert problems == [("attempts[1].used_strategies[1]", f"unknown strategy version {missing}")]
    assert StrategyUse.objects.count() == 0


def test_database_problems_of_all_attempts_are_listed_together(agent):
    problems = problems_raised(
        lambda: record_attempts(
            agent,
            [
                steps_attempt("support.warranty"),
                steps_attempt(used_strategies=[987654]),
                steps_attempt(scenario=123456),
            ],
        )
    )

    assert problems == [
        ("attempts[0].skill", "unknown skill support.warranty"),
        ("attempts[1].used_strategies[0]", "unknown strategy version 987654"),
        ("attempts[2].scenario", "scenario 123456 is not assigned to this agent"),
    ]


# --- external_id ----------------------------------------------------------------------------------


def test_an_attempt_reported_again_with_its_external_id_is_a_replay(agent):
    strategy = _live_strategy()
    payload = chat_attempt(
        external_id="tau-retail-17-0", used_strategies=[strategy.current_version.pk]
    )
    first, created = record_attempt(agent, payload)

    again, created_again = record_attempt(agent, payload)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert again.step_count == 8
    assert again.skill.key == RETURNS
    assert Attempt.objects.count() == 1
    assert TraceStep.objects.count() == 8
    strategy.refresh_from_db()
    assert (strategy.use_count, strategy.helpful_count) == (1, 1)


def test_a_bulk_request_mixing_replays_and_new_attempts(agent):
    stored, _ = record_attempt(agent, steps_attempt(external_id="run-2"))

    result = record_attempts(
        agent,
        [
            steps_attempt(external_id="run-1"),
            steps_attempt(external_id="run-2", score=0.9),
            steps_attempt(),
        ],
    )

    assert [created for _, created in result.items] == [True, False, True]
    assert result.items[1].attempt.pk == stored.pk
    assert result.items[1].attempt.score == 0.4  # the stored attempt, not the retried payload
    assert result.replayed == [result.items[1].attempt]
    assert Attempt.objects.count() == 3


def test_a_replay_is_returned_even_when_its_scenario_is_already_completed(agent):
    assignment = _assignment(agent)
    payload = steps_attempt(scenario=assignment.scenario_id, external_id="practice-5")
    first, _ = record_attempt(agent, payload)

    again, created = record_attempt(agent, payload)

    assert (again.pk, created) == (first.pk, False)


def test_external_ids_are_per_agent(agent):
    other = AgentFactory(name="other-agent", boundaries=["support"])
    record_attempt(other, steps_attempt(external_id="run-1"))

    _, created = record_attempt(agent, steps_attempt(external_id="run-1"))

    assert created is True
    assert Attempt.objects.filter(external_id="run-1").count() == 2


def test_an_external_id_twice_in_one_request_is_refused(agent):
    problems = problems_raised(
        lambda: record_attempts(
            agent, [steps_attempt(external_id="run-1"), steps_attempt(external_id="run-1")]
        )
    )

    assert problems == [("attempts[1].external_id", "repeats the external_id of attempts[0]")]
    assert Attempt.objects.count() == 0


def test_a_concurrent_insert_of_the_same_external_id_is_retried(agent):
    """Another request stores the same external_id between the look-up and the insert: the
    unique constraint fires and the whole transaction runs once more."""
    attempt_inserts = []

    def insert_the_same_external_id_first(execute, sql, params, many, context):
        if sql.startswith('INSERT INTO "practice_attempt"'):
            attempt_inserts.append(sql)
            if len(attempt_inserts) == 1:
                AttemptFactory(agent=agent, skill=SkillFactory(key=RETURNS), external_id="run-7")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(insert_the_same_external_id_first):
        attempt, created = record_attempt(agent, steps_attempt(external_id="run-7"))

    assert len(attempt_inserts) == 3  # ours, the concurrent one, ours again
    assert created is True
    assert list(Attempt.objects.values_list("pk", "external_id")) == [(attempt.pk, "run-7")]
    assert attempt.steps.count() == 2


# --- boundaries ---------------------------------------------------------------------------------


def test_an_attempt_outside_the_agents_boundaries_is_stored_and_flagged(agent):
    SkillFactory(key="billing.refunds")

    result = record_attempts(
        agent, [steps_attempt(RETURNS), steps_attempt("billing.refunds"), steps_attempt("support")]
    )

    assert [attempt.out_of_bounds for attempt, _ in result.items] == [False, True, False]
    assert list(
        Attempt.objects.filter(out_of_bounds=True).values_list("skill__key", flat=True)
    ) == ["billing.refunds"]


def test_an_agent_without_boundaries_has_every_attempt_flagged():
    SkillFactory(key=RETURNS)
    agent = AgentFactory(name="unbounded")

    attempt, _ = record_attempt(agent, steps_attempt())

    attempt.refresh_from_db()
    assert attempt.out_of_bounds is True


# --- strategy counters --------------------------------------------------------------------------


def _live_strategy(skill_key=RETURNS, when="the customer asks to return a delivered item"):
    return propose_strategy(
        skill=SkillFactory(key=skill_key),
        when=when,
        do="look the order up with its leading # before calling any write tool",
        because="order ids carry a leading # and look-ups without it fail",
    )


def test_used_strategies_count_a_use_and_a_helpful_or_harmful_outcome(agent):
    order_ids = _live_strategy()
    identity = _live_strategy(when="a user asks about an order before authenticating")
    order_version, identity_version = order_ids.current_version.pk, identity.current_version.pk

    result = record_attempts(
        agent,
        [
            steps_attempt(success=True, score=1, used_strategies=[order_version]),
            steps_attempt(success=False, used_strategies=[order_version, identity_version]),
            steps_attempt(success=True, score=1, used_strategies=[order_version]),
        ],
    )

    order_ids.refresh_from_db()
    identity.refresh_from_db()
    assert (order_ids.use_count, order_ids.helpful_count, order_ids.harmful_count) == (3, 2, 1)
    assert (identity.use_count, identity.helpful_count, identity.harmful_count) == (1, 0, 1)
    second = result.items[1].attempt
    assert set(second.used_strategies.values_list("pk", flat=True)) == {
        order_version,
        identity_version,
    }
    assert StrategyUse.objects.count() == 4


def test_uses_of_two_versions_of_one_strategy_both_count(agent):
    strategy = _live_strategy()
    first_version = strategy.current_version.pk
    revise_strategy(
        strategy,
        when="the customer asks to return a delivered item",
        do="call get_order_details with the id exactly as shown, leading # included",
        because="look-ups without the # fail",
    )
    strategy.refresh_from_db()

    record_attempt(
        agent,
        steps_attempt(
            success=True, score=1, used_strategies=[first_version, strategy.current_version.pk]
        ),
    )

    strategy.refresh_from_db()
    assert (strategy.use_count, strategy.helpful_count, strategy.harmful_count) == (2, 2, 0)


def test_an_out_of_bounds_attempt_records_its_uses_but_never_moves_the_counters(agent):
    SkillFactory(key="billing.refunds")
    strategy = _live_strategy()

    record_attempt(
        agent,
        steps_attempt(
            "billing.refunds", success=True, used_strategies=[strategy.current_version.pk]
        ),
    )

    strategy.refresh_from_db()
    assert (strategy.use_count, strategy.helpful_count, strategy.harmful_count) == (0, 0, 0)
    assert StrategyUse.objects.filter(strategy_version=strategy.current_version).count() == 1


def test_counters_move_from_their_current_value(agent):
    strategy = _live_strategy()
    Strategy.objects.filter(pk=strategy.pk).update(use_count=10, helpful_count=6, harmful_count=4)

    record_attempt(agent, steps_attempt(used_strategies=[strategy.current_version.pk]))

    strategy.refresh_from_db()
    assert (strategy.use_count, strategy.helpful_count, strategy.harmful_count) == (11, 6, 5)


# --- practice scenarios -------------------------------------------------------------------------


def _assignment(agent, skill_key=RETURNS, status=PracticeAssignment.Status.CLAIMED):
    scenario = PracticeScenario.objects.create(
        skill=SkillFactory(key=skill_key),
        difficulty=0.5,
        prompt="Order #W2378156 was delivered; the customer wants to return the water bottle.",
    )
    return PracticeAssignment.objects.create(
        agent=agent, scenario=scenario, status=status, reason=PracticeAssignment.Reason.WEAK
    )


@pytest.mark.parametrize(
    "status", [PracticeAssignment.Status.QUEUED, PracticeAssignment.Status.CLAIMED]
)
def test_an_attempt_on_an_assigned_scenario_completes_the_assignment(agent, status):
    assignment = _assignment(agent, status=status)

    attempt, _ = record_attempt(agent, steps_attempt(scenario=assignment.scenario_id))

    assignment.refresh_from_db()
    assert assignment.status == PracticeAssignment.Status.COMPLETED
    assert assignment.attempt == attempt
    assert assignment.completed_at is not None
    attempt.refresh_from_db()
    assert attempt.scenario_id == assignment.scenario_id
    assert attempt.source == Attempt.Source.PRACTICE


def test_another_agents_scenario_is_refused_and_nothing_is_written(agent):
    other = AgentFactory(name="other-agent", boundaries=["support"])
    theirs = _assignment(other)

    problems = problems_raised(
        lambda: record_attempts(
            agent, [steps_attempt(), steps_attempt(scenario=theirs.scenario_id)]
        )
    )

    assert problems == [
        ("attempts[1].scenario", f"scenario {theirs.scenario_id} is not assigned to this agent")
    ]
    assert Attempt.objects.count() == 0
    theirs.refresh_from_db()
    assert theirs.status == PracticeAssignment.Status.CLAIMED


@pytest.mark.parametrize(
    "status", [PracticeAssignment.Status.COMPLETED, PracticeAssignment.Status.CANCELLED]
)
def test_a_scenario_whose_assignment_is_closed_is_refused(agent, status):
    assignment = _assignment(agent)
    if status == PracticeAssignment.Status.COMPLETED:
        record_attempt(agent, steps_attempt(scenario=assignment.scenario_id))
    else:
        PracticeAssignment.objects.filter(pk=assignment.pk).update(status=status)

    problems = problems_raised(
        lambda: record_attempt(agent, steps_attempt(scenario=assignment.scenario_id))
    )

    assert problems == [
        ("scenario", f"scenario {assignment.scenario_id} is not assigned to this agent")
    ]


def test_one_scenario_twice_in_a_request_is_refused(agent):
    assignment = _assignment(agent)
    scenario = assignment.scenario_id

    problems = problems_raised(
        lambda: record_attempts(
            agent, [steps_attempt(scenario=scenario), steps_attempt(scenario=scenario)]
        )
    )

    assert problems == [
        ("attempts[1].scenario", f"scenario {scenario} is already completed by attempts[0]")
    ]


def test_an_attempt_must_be_on_the_skill_its_scenario_practices(agent):
    assignment = _assignment(agent, skill_key="support.exchanges")

    problems = problems_raised(
        lambda: record_attempt(agent, steps_attempt(scenario=assignment.scenario_id))
    )

    assert problems == [
        (
            "scenario",
            f"scenario {assignment.scenario_id} practices support.exchanges, not {RETURNS}",
        )
    ]


# --- after commit -------------------------------------------------------------------------------


@pytest.fixture
def hook_calls():
    calls = []
    attempts_service.after_commit_hooks.append(calls.append)
    yield calls
    attempts_service.after_commit_hooks.remove(calls.append)


def test_hooks_receive_the_new_attempt_ids_after_commit(
    agent, hook_calls, django_capture_on_commit_callbacks
):
    stored, _ = record_attempt(agent, steps_attempt(external_id="run-1"))
    hook_calls.clear()

    with django_capture_on_commit_callbacks() as callbacks:
        result = record_attempts(
            agent, [steps_attempt(), steps_attempt(external_id="run-1"), steps_attempt()]
        )
        assert hook_calls == []  # not before the commit
    for callback in callbacks:
        callback()

    new_ids = [attempt.pk for attempt, created in result.items if created]
    assert len(new_ids) == 2 and stored.pk not in new_ids
    assert hook_calls == [new_ids]


def test_a_request_of_replays_only_calls_no_hook(
    agent, hook_calls, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        record_attempt(agent, steps_attempt(external_id="run-1"))

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        record_attempt(agent, steps_attempt(external_id="run-1"))

    assert callbacks == []
    assert len(hook_calls) == 1


def test_a_failing_hook_does_not_keep_the_next_from_running(
    agent, hook_calls, django_capture_on_commit_callbacks, caplog
):
    def broken_hook(attempt_ids):
        raise ValueError("queue unavailable")

    attempts_service.after_commit_hooks.insert(0, broken_hook)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            attempt, _ = record_attempt(agent, steps_attempt())
    finally:
        attempts_service.after_commit_hooks.remove(broken_hook)

    assert hook_calls == [[attempt.pk]]
    assert "queue unavailable" in caplog.text


def test_nothing_invalid_calls_a_hook(agent, hook_calls, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(AttemptInputError):
            record_attempts(agent, [steps_attempt(), steps_attempt("support.warranty")])

    assert callbacks == []
    assert hook_calls == []


# --- speed --------------------------------------------------------------------------------------


def test_the_number_of_queries_does_not_grow_with_the_batch(agent):
    """Bulk inserts only: no query per attempt, step, strategy use or assignment. (Kept under
    the row count at which SQLite splits an insert into several statements.)"""
    strategy = _live_strategy()
    version = strategy.current_version.pk

    def queries_for(count, start):
        assignments = [_assignment(agent) for _ in range(count)]
        payloads = [
            steps_attempt(
                steps=20,
                external_id=f"run-{start + number}",
                used_strategies=[version],
                scenario=assignments[number].scenario_id,
            )
            for number in range(count)
        ]
        with CaptureQueriesContext(connection) as queries:
            record_attempts(agent, payloads)
        return len(queries)

    assert queries_for(1, start=0) == queries_for(5, start=100)
    assert TraceStep.objects.count() == 6 * 20
    assert PracticeAssignment.objects.filter(status="completed").count() == 6
