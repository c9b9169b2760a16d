"""Recording attempts in the competency model: once per attempt, rolled up the taxonomy, with
a history of snapshots, read with decay."""

from datetime import UTC, datetime, timedelta

import pytest

from practice import estimator
from practice.models import Attempt, CompetencyEstimate, CompetencySnapshot
from practice.services.competency import (
    OWN,
    competency_profile,
    decayed,
    own_state,
    record_outcome,
)
from tests.factories import AgentFactory, AttemptFactory, SkillFactory

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def agent():
    SkillFactory(key="tools.orders.wrong_order_id")
    SkillFactory(key="tools.returns")
    return AgentFactory(name="retail-agent", boundaries=["tools"])


def attempt(agent, key, *, success, score=None, minutes=0, **fields):
    return AttemptFactory(
        agent=agent,
        skill=SkillFactory(key=key),
        success=success,
        score=(1.0 if success else 0.0) if score is None else score,
        created_at=START + timedelta(minutes=minutes),
        **fields,
    )


def competency(agent, key):
    return CompetencyEstimate.objects.get(agent=agent, skill__key=key)


def test_an_attempt_is_counted_once_however_often_it_is_delivered(agent):
    first = attempt(agent, "tools.returns", success=True, difficulty=0.7)

    assert record_outcome(first) is True
    after_first = competency(agent, "tools.returns")
    assert record_outcome(first) is False
    assert record_outcome(first) is False

    again = competency(agent, "tools.returns")
    assert (again.attempts, again.successes) == (1, 1)
    assert again.estimate == after_first.estimate
    assert again.model_state == after_first.model_state
    assert CompetencySnapshot.objects.filter(attempt=first).count() == 2  # tools.returns + tools


def test_a_success_raises_and_a_failure_lowers_the_estimate(agent):
    record_outcome(attempt(agent, "tools.returns", success=True))
    record_outcome(attempt(agent, "tools.orders", success=False))

    assert competency(agent, "tools.returns").estimate > 0.5
    assert competency(agent, "tools.orders").estimate < 0.5


def test_a_failure_counts_as_at_most_half_a_success_whatever_its_score(agent):
    # Counted as its score of 0.9, this failure on an easy task would raise the estimate.
    record_outcome(attempt(agent, "tools.returns", success=False, score=0.9, difficulty=0.2))

    assert competency(agent, "tools.returns").estimate < 0.5
    assert competency(agent, "tools.returns").last_failed_at == START


def test_attempts_outside_the_boundaries_teach_nothing(agent):
    outside = attempt(agent, "tone.empathy", success=True, out_of_bounds=True)

    assert record_outcome(outside) is False
    assert not CompetencyEstimate.objects.filter(agent=agent).exists()
    assert not CompetencySnapshot.objects.exists()


def test_counters_times_and_review_follow_the_attempts(agent):
    record_outcome(attempt(agent, "tools.returns", success=True, minutes=0))
    record_outcome(
        attempt(agent, "tools.returns", success=False, minutes=5, source=Attempt.Source.PRACTICE)
    )
    record_outcome(attempt(agent, "tools.returns", success=True, minutes=10))

    returns = competency(agent, "tools.returns")
    assert (returns.attempts, returns.successes) == (3, 2)
    assert returns.last_attempt_at == START + timedelta(minutes=10)
    assert returns.last_practiced_at == START + timedelta(minutes=5)
    assert returns.last_failed_at == START + timedelta(minutes=5)
    assert returns.review_state["last_review"] == (START + timedelta(minutes=10)).isoformat()
    assert returns.next_review_at > START + timedelta(minutes=10)


def test_every_attempt_leaves_a_point_on_the_learning_curve(agent):
    for minute in range(4):
        record_outcome(attempt(agent, "tools.returns", success=True, minutes=minute))

    curve = CompetencySnapshot.objects.filter(agent=agent, skill__key="tools.returns")
    estimates = list(curve.values_list("estimate", flat=True))
    assert len(estimates) == 4
    assert estimates == sorted(estimates)
    assert list(curve.values_list("recorded_at", flat=True)) == [
        START + timedelta(minutes=minute) for minute in range(4)
    ]
    assert estimates[-1] == competency(agent, "tools.returns").estimate


def test_estimates_roll_up_to_every_ancestor(agent):
    failure = attempt(agent, "tools.orders.wrong_order_id", success=False, minutes=0)
    success = attempt(agent, "tools.returns", success=True, minutes=1)
    record_outcome(failure)
    record_outcome(success)

    orders = competency(agent, "tools.orders")
    tools = competency(agent, "tools")
    wrong_id = competency(agent, "tools.orders.wrong_order_id")
    returns = competency(agent, "tools.returns")
    assert orders.rolled_up and tools.rolled_up
    assert not wrong_id.rolled_up and not returns.rolled_up
    assert (tools.attempts, tools.successes) == (2, 1)
    assert orders.estimate == pytest.approx(wrong_id.estimate)
    assert orders.last_failed_at == START
    assert returns.estimate > tools.estimate > orders.estimate
    at = START + timedelta(minutes=1)
    expected = estimator.roll_up(
        [
            (estimator.decay(orders.model_state, at), 1),
            (estimator.decay(returns.model_state, at), 1),
        ]
    )
    assert tools.model_state["mu"] == pytest.approx(expected["mu"])
    assert tools.model_state["var"] == pytest.approx(expected["var"])
    assert set(
        CompetencySnapshot.objects.filter(attempt=failure).values_list("skill__key", flat=True)
    ) == {"tools.orders.wrong_order_id", "tools.orders", "tools"}
    assert CompetencySnapshot.objects.get(attempt=success, skill__key="tools").estimate == (
        tools.estimate
    )


def test_a_skill_keeps_its_own_evidence_when_its_failure_modes_roll_up_into_it(agent):
    for minute in range(3):
        record_outcome(attempt(agent, "tools.orders", success=True, minutes=minute))
    own_only = competency(agent, "tools.orders")

    record_outcome(attempt(agent, "tools.orders.wrong_order_id", success=False, minutes=3))

    orders = competency(agent, "tools.orders")
    wrong_id = competency(agent, "tools.orders.wrong_order_id")
    assert orders.rolled_up
    assert orders.model_state[OWN] == own_only.model_state
    assert own_state(orders) == own_only.model_state
    assert own_state(wrong_id) == wrong_id.model_state
    assert wrong_id.estimate < orders.estimate < own_only.estimate
    assert orders.attempts == 4

    record_outcome(attempt(agent, "tools.orders", success=True, minutes=4))
    orders = competency(agent, "tools.orders")
    assert orders.model_state[OWN]["updated_at"] == (START + timedelta(minutes=4)).isoformat()
    assert orders.attempts == 5


def test_reading_a_competency_applies_the_decay_of_time_unpracticed(agent):
    for minute in range(12):
        record_outcome(
            attempt(agent, "tools.returns", success=True, minutes=minute, difficulty=0.9)
        )
    returns = competency(agent, "tools.returns")

    fresh = decayed(returns, START + timedelta(hours=1))
    stale = decayed(returns, START + timedelta(days=400))

    assert fresh.status == "mastered"
    assert fresh.estimate == pytest.approx(returns.estimate, abs=1e-3)
    assert stale.uncertainty > fresh.uncertainty
    assert stale.estimate < fresh.estimate
    assert stale.status != "mastered"


def test_the_profile_lists_every_competency_of_the_agent_by_skill(agent):
    record_outcome(attempt(agent, "tools.returns", success=True))
    record_outcome(attempt(AgentFactory(boundaries=["tools"]), "tools.orders", success=False))

    profile = competency_profile(agent, START + timedelta(days=1))

    assert [entry.skill.key for entry in profile] == ["tools", "tools.returns"]
    assert all(entry.reading.status in {"weak", "learning", "mastered"} for entry in profile)
    assert profile[1].reading == decayed(profile[1].competency, START + timedelta(days=1))
