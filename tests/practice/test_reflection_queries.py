"""What a reflection costs the database: a fixed number of statements, however long the trace
and however many strategies its skill already has (no query per step, per strategy compared or
per candidate)."""

import copy

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from practice.coach.base import CandidateStrategy
from practice.coach.offline import TraceDiffCoach
from practice.models import Reflection, Strategy, StrategyEvidence
from practice.services.reflection import reflect_attempt
from practice.services.strategies import propose_strategy
from taxonomy.models import Skill
from tests.practice.test_reflection_pipeline import (
    CARD_REFUND,
    HEADPHONES,
    KEYBOARD,
    RETURNS,
    THERMOSTAT,
    WATER_BOTTLE,
    ScriptedCoach,
    return_attempt,
    returns_agent,
    store,
)


@pytest.fixture
def agent():
    return returns_agent()


pytestmark = pytest.mark.django_db

# Reading the attempt and its steps, the claim, the result, the skill's strategies, the
# evidence and its count, the discovery check, and the transactions (or savepoints) around
# them; PostgreSQL adds the row lock on the skill.
MOST_STATEMENTS = 14

EXCHANGE = CandidateStrategy(
    skill_key=RETURNS,
    when="when the user wants another size of a delivered item instead of a refund",
    do="call exchange_delivered_order_items with the new item id the user picked",
    because="a return refunds the item while the user asked to swap it for another size",
)


@pytest.fixture(autouse=True)
def _one_failure_is_enough_to_propose_a_failure_mode(settings):
    """The first reflection files the failure mode's proposal, so the measured ones all find
    it there and do the same discovery work."""
    settings.ETUDE_DISCOVERY_MIN_EVIDENCE = 1


def with_extra_lookups(payload, count):
    """The attempt with `count` more order lookups (read-only calls, never a fault) before the
    agent's last reply."""
    payload = copy.deepcopy(payload)
    messages = payload["trace"]["messages"]
    order_id = payload["expected_actions"][1]["arguments"]["order_id"]
    extra = []
    for number in range(100, 100 + count):
        call = {
            "id": f"call_{number}",
            "type": "function",
            "function": {"name": "get_order_details", "arguments": f'{{"order_id": "{order_id}"}}'},
        }
        extra += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{number}", "content": '{"status": "ok"}'},
        ]
    payload["trace"]["messages"] = [*messages[:-1], *extra, messages[-1]]
    return payload


def statements_reflecting(attempt, coach=None):
    with CaptureQueriesContext(connection) as captured:
        reflection = reflect_attempt(attempt.pk, coach=coach or TraceDiffCoach())
    assert reflection.status == Reflection.Status.SUCCEEDED
    return [query["sql"] for query in captured.captured_queries]


def unrelated_strategies(skill, count):
    for number in range(count):
        propose_strategy(
            skill=skill,
            when=f"when the user asks to change the shipping address of pending order {number}",
            do=f"call modify_pending_order_address with the address line {number} the user gave",
            because="the order ships to whatever address it holds when it leaves the warehouse",
        )


def test_evidence_for_a_known_mistake_costs_the_same_statements_for_any_trace_or_skill(agent):
    reflect_attempt(store(agent, return_attempt(WATER_BOTTLE)).pk, coach=TraceDiffCoach())
    (strategy,) = Strategy.objects.all()

    short = statements_reflecting(store(agent, return_attempt(HEADPHONES)))
    unrelated_strategies(strategy.skill, 25)
    long = statements_reflecting(store(agent, with_extra_lookups(return_attempt(KEYBOARD), 25)))

    assert len(long) == len(short) <= MOST_STATEMENTS
    # Both were evidence for the first strategy, not strategies of their own.
    assert Strategy.objects.filter(support_count=3).get() == strategy
    assert StrategyEvidence.objects.filter(strategy=strategy).count() == 3


def test_a_new_strategy_costs_the_same_statements_however_many_the_skill_has(agent):
    skill = Skill.objects.get(key=RETURNS)
    unrelated_strategies(skill, 3)
    few = statements_reflecting(
        store(agent, return_attempt(WATER_BOTTLE)), coach=ScriptedCoach(CARD_REFUND)
    )
    unrelated_strategies(skill, 30)

    many = statements_reflecting(
        store(agent, return_attempt(THERMOSTAT)), coach=ScriptedCoach(EXCHANGE)
    )

    assert len(many) == len(few)
    new = Strategy.objects.filter(support_count=1).order_by("pk")
    assert [strategy.current_version.do_text for strategy in new] == [CARD_REFUND.do, EXCHANGE.do]


def test_the_trace_is_read_once_and_without_the_raw_messages(agent):
    statements = statements_reflecting(store(agent, with_extra_lookups(return_attempt(), 10)))

    step_reads = [sql for sql in statements if 'FROM "practice_tracestep"' in sql]
    assert len(step_reads) == 1
    assert "raw_message" not in step_reads[0]
    (attempt_read,) = [sql for sql in statements if 'FROM "practice_attempt"' in sql]
    assert "trace_messages" not in attempt_read
