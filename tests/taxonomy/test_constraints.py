"""The database and the taxonomy services refuse bad skills with clear errors."""

import pytest
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError

from oversight.models import AuditEvent
from taxonomy.models import Skill
from taxonomy.services import TaxonomyError, create_skill, delete_skill, set_skill_active
from tests.factories import AttemptFactory, SkillFactory

pytestmark = pytest.mark.django_db


def test_duplicate_skill_key_is_refused_by_the_database():
    Skill.objects.create(key="support", name="Support")
    with pytest.raises(IntegrityError), transaction.atomic():
        Skill.objects.create(key="support", name="Support again")
    assert Skill.objects.filter(key="support").count() == 1


def test_create_skill_refuses_an_existing_key():
    create_skill(key="support", name="Support")
    create_skill(key="support.intent", name="Intent")
    events = AuditEvent.objects.count()

    with pytest.raises(TaxonomyError, match="support.intent already exists"):
        create_skill(key="support.intent", name="Intent again")

    assert Skill.objects.get(key="support.intent").name == "Intent"
    assert AuditEvent.objects.count() == events


def test_create_skill_sets_parent_and_depth_and_audits():
    create_skill(key="support", name="Support")
    skill = create_skill(key="support.intent", name="Intent", reason="designed")

    assert skill.parent.key == "support"
    assert skill.depth == 1
    event = AuditEvent.objects.latest("sequence")
    assert (event.action, event.object_id, event.reason) == (
        "skill.created",
        "support.intent",
        "designed",
    )


def test_create_skill_refuses_a_missing_parent_and_a_bad_threshold():
    with pytest.raises(TaxonomyError, match="parent support does not exist"):
        create_skill(key="support.intent", name="Intent")
    with pytest.raises(TaxonomyError, match="Cannot create support"):
        create_skill(key="support", name="Support", mastery_threshold=1.5)
    assert Skill.objects.count() == 0


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, -0.1])
def test_mastery_threshold_outside_0_1_is_refused_by_the_database(threshold):
    with pytest.raises(IntegrityError), transaction.atomic():
        Skill.objects.create(key="support", name="Support", mastery_threshold=threshold)
    assert not Skill.objects.exists()


def test_skill_with_attempts_cannot_be_deleted():
    attempt = AttemptFactory(skill=SkillFactory(key="tools.orders"))
    skill = attempt.skill

    with pytest.raises(ProtectedError), transaction.atomic():
        Skill.objects.get(pk=skill.pk).delete()

    events = AuditEvent.objects.count()
    with pytest.raises(TaxonomyError) as refused:
        delete_skill(skill)
    message = str(refused.value)
    assert "tools.orders cannot be deleted" in message
    assert "attempts" in message
    assert "Deactivate it instead" in message
    assert Skill.objects.filter(key="tools.orders").exists()
    assert AuditEvent.objects.count() == events


def test_skill_in_use_can_be_deactivated_instead():
    skill = AttemptFactory(skill=SkillFactory(key="tools.orders")).skill

    set_skill_active(skill, False, reason="replaced")

    assert Skill.objects.get(key="tools.orders").active is False
    event = AuditEvent.objects.latest("sequence")
    assert (event.action, event.before["active"], event.after["active"]) == (
        "skill.deactivated",
        True,
        False,
    )


def test_parent_with_children_cannot_be_deleted():
    child = SkillFactory(key="tools.orders")
    parent = child.parent

    with pytest.raises(ProtectedError), transaction.atomic():
        Skill.objects.get(pk=parent.pk).delete()
    with pytest.raises(TaxonomyError, match="tools cannot be deleted: skills refer to it"):
        delete_skill(parent)

    assert set(Skill.objects.values_list("key", flat=True)) == {"tools", "tools.orders"}


def test_unused_leaf_skill_is_deleted_with_an_audit_event():
    leaf = SkillFactory(key="tools.orders")

    delete_skill(leaf, reason="typo")

    assert set(Skill.objects.values_list("key", flat=True)) == {"tools"}
    event = AuditEvent.objects.latest("sequence")
    assert (event.action, event.object_id, event.after) == ("skill.deleted", "tools.orders", None)
    assert event.before["key"] == "tools.orders"
