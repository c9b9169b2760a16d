"""The database and the practice models refuse bad data; released memory and the audit log hold."""

import pytest
from django.db import IntegrityError, transaction

from oversight.models import AuditEvent
from oversight.services import event_hash, verify_chain
from oversight.services.audit import append_only_guard_lifted
from practice.models import (
    Attempt,
    ImmutableRecordError,
    MemoryRelease,
    Reflection,
    Strategy,
    StrategyVersion,
)
from practice.services.strategies import (
    change_status,
    propose_strategy,
    publish_release,
    revise_strategy,
)
from taxonomy.services import create_skill
from tests.factories import AgentFactory, AttemptFactory, SkillFactory

pytestmark = pytest.mark.django_db


def live_released_strategy():
    """A strategy that went live and is part of release 1."""
    strategy = propose_strategy(
        skill=SkillFactory(key="tools.orders"),
        when="the customer gives two order numbers",
        do="ask which order the request is about before calling lookup_order",
        because="acting on the wrong order changes someone else's purchase",
    )
    change_status(strategy, Strategy.Status.LIVE, reason="clear and specific")
    release = publish_release(note="first")
    return Strategy.objects.get(pk=strategy.pk), release


# --- Scores and difficulty -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["score", "difficulty"])
@pytest.mark.parametrize("value", [1.5, -0.1])
def test_value_outside_0_1_is_refused_on_create(field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        AttemptFactory(**{field: value})
    assert not Attempt.objects.exists()


@pytest.mark.parametrize("field", ["score", "difficulty"])
@pytest.mark.parametrize("value", [1.5, -0.1])
def test_value_outside_0_1_is_refused_on_update(field, value):
    attempt = AttemptFactory(score=0.5, difficulty=0.5)
    with pytest.raises(IntegrityError), transaction.atomic():
        Attempt.objects.filter(pk=attempt.pk).update(**{field: value})
    assert getattr(Attempt.objects.get(pk=attempt.pk), field) == 0.5


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_bounds_of_0_1_are_accepted(value):
    attempt = AttemptFactory(score=value, difficulty=value)
    Attempt.objects.filter(pk=attempt.pk).update(score=value, difficulty=value)
    assert Attempt.objects.get(pk=attempt.pk).score == value


def test_attempt_without_difficulty_is_accepted():
    assert AttemptFactory(difficulty=None).difficulty is None


# --- Uniqueness ------------------------------------------------------------------------------------


def test_external_id_is_unique_per_agent_only():
    first, second = AgentFactory(), AgentFactory()
    AttemptFactory(agent=first, external_id="task-1")

    with pytest.raises(IntegrityError), transaction.atomic():
        AttemptFactory(agent=first, external_id="task-1")

    AttemptFactory(agent=second, external_id="task-1")
    AttemptFactory(agent=first, external_id=None)
    AttemptFactory(agent=first, external_id=None)  # "no id" repeats freely
    assert Attempt.objects.filter(external_id="task-1").count() == 2
    assert Attempt.objects.filter(agent=first).count() == 3


def test_one_reflection_per_attempt_and_coach_version():
    attempt = AttemptFactory()
    Reflection.objects.create(attempt=attempt, coach_name="trace-diff", coach_version="1")

    with pytest.raises(IntegrityError), transaction.atomic():
        Reflection.objects.create(attempt=attempt, coach_name="trace-diff", coach_version="1")

    Reflection.objects.create(attempt=attempt, coach_name="trace-diff", coach_version="2")
    Reflection.objects.create(attempt=AttemptFactory(), coach_name="trace-diff", coach_version="1")
    assert Reflection.objects.filter(attempt=attempt).count() == 2


# --- Released memory is immutable ------------------------------------------------------------------


def test_released_strategy_version_cannot_be_edited_or_deleted():
    strategy, release = live_released_strategy()
    version = StrategyVersion.objects.get(strategy=strategy, number=1)

    version.when_text = "whenever"
    with pytest.raises(ImmutableRecordError, match="part of a memory release"):
        version.save()
    with pytest.raises(ImmutableRecordError, match="cannot be deleted"):
        StrategyVersion.objects.get(pk=version.pk).delete()

    stored = StrategyVersion.objects.get(pk=version.pk)
    assert stored.when_text == "the customer gives two order numbers"
    assert list(release.strategy_versions.all()) == [stored]


def test_revising_a_released_strategy_adds_a_version_and_keeps_the_release():
    strategy, release = live_released_strategy()

    revised = revise_strategy(
        strategy,
        when="the customer mentions more than one order",
        do="confirm the order number before any order tool call",
        because="a wrong order id changes someone else's purchase",
    )

    assert revised.current_version.number == 2
    assert list(revised.versions.values_list("number", flat=True)) == [1, 2]
    held = MemoryRelease.objects.get(pk=release.pk).strategy_versions.get()
    assert held.number == 1
    assert held.when_text == "the customer gives two order numbers"


def test_unreleased_version_is_immutable_too():
    strategy = propose_strategy(
        skill=SkillFactory(key="tools.orders"),
        when="the order tool times out",
        do="retry once, then tell the customer the lookup is delayed",
        because="silent retries leave the customer waiting",
    )
    version = strategy.current_version
    version.do_text = "try harder"
    with pytest.raises(ImmutableRecordError, match="versions are immutable"):
        version.save()


def test_release_cannot_be_changed_or_deleted():
    _, release = live_released_strategy()

    release.note = "rewritten history"
    with pytest.raises(ImmutableRecordError, match="release 1 cannot be changed"):
        release.save()
    with pytest.raises(ImmutableRecordError, match="release 1 cannot be deleted"):
        MemoryRelease.objects.get(pk=release.pk).delete()

    assert MemoryRelease.objects.get(pk=release.pk).note == "first"


# --- The audit log ---------------------------------------------------------------------------------


def test_audit_event_cannot_be_updated_or_deleted_through_the_model():
    create_skill(key="support", name="Support")
    event = AuditEvent.objects.get()

    event.reason = "edited later"
    with pytest.raises(ImmutableRecordError, match="cannot be changed"):
        event.save()
    with pytest.raises(ImmutableRecordError, match="cannot be deleted"):
        AuditEvent.objects.get(pk=event.pk).delete()

    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_audit_chain_verifies_after_governed_changes():
    create_skill(key="tools", name="Acting with tools")
    live_released_strategy()

    count, broken = verify_chain()

    actions = list(AuditEvent.objects.values_list("action", flat=True))
    assert actions[0] == "skill.created"
    assert {"strategy.proposed", "strategy.live", "release.published"} <= set(actions)
    assert (count, broken) == (len(actions), None)


def test_tampered_audit_event_is_reported():
    create_skill(key="tools", name="Acting with tools")
    live_released_strategy()
    total = AuditEvent.objects.count()

    # A direct database edit by someone who lifted the database's guard first.
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence=2).update(reason="approved by nobody")
    count, broken = verify_chain()

    assert total >= 4
    assert count == 2
    assert (broken.sequence, broken.kind) == (2, "changed")
    assert "content does not match its hash" in broken.why


def test_rehashed_tampered_event_breaks_the_link_to_the_next():
    create_skill(key="tools", name="Acting with tools")
    live_released_strategy()

    tampered = AuditEvent.objects.get(sequence=2)
    tampered.reason = "approved by nobody"
    with append_only_guard_lifted():
        AuditEvent.objects.filter(pk=tampered.pk).update(
            reason=tampered.reason, hash=event_hash(tampered)
        )
    count, broken = verify_chain()

    # Event 2 checks out on its own; event 3 still names event 2's original hash.
    assert count == 3
    assert (broken.sequence, broken.kind) == (2, "changed")
    assert "hash recomputed" in broken.why
