"""The admin: every model is registered and answers; governed writes go through the services."""

import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from oversight.models import AuditEvent, ReviewDecision
from oversight.services.review import claim_item
from practice.models import (
    Agent,
    AgentBoundary,
    AgentKey,
    CompetencyEstimate,
    CompetencySnapshot,
    PracticeAssignment,
    PracticeScenario,
    Reflection,
    Strategy,
    StrategyEvidence,
    StrategyFeedback,
    StrategyUse,
)
from practice.services.agents import authenticate_key, hash_key, issue_key, revoke_key
from practice.services.strategies import change_status, propose_strategy, publish_release
from taxonomy.models import Skill, TaxonomyProposal
from tests.factories import AgentFactory, AttemptFactory, SkillFactory, TraceStepFactory, reviewer

pytestmark = pytest.mark.django_db

OUR_MODELS = [
    model
    for label in ("taxonomy", "practice", "oversight")
    for model in apps.get_app_config(label).get_models()
]
KEY_PATTERN = re.compile(r"etude_[0-9a-f]{12}_[\w-]+")


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def shown_messages(response):
    return [(message.level_tag, str(message)) for message in response.context["messages"]]


@pytest.fixture
def one_of_everything(admin_user):
    """A row in every table of the three apps, built the way the product builds them."""
    agent = AgentFactory(name="support-bot", boundaries=["support"])
    skill = SkillFactory(key="support.intent.ambiguity")
    issue_key(agent, label="prod", actor=admin_user)
    attempt = AttemptFactory(agent=agent, skill=skill, task_input="Where is my order?")
    TraceStepFactory(attempt=attempt, position=1, action="lookup_order")
    reflection = Reflection.objects.create(
        attempt=attempt,
        coach_name="trace-diff",
        coach_version="1",
        status=Reflection.Status.SUCCEEDED,
        fault_type=Reflection.FaultType.WRONG_TOOL,
    )
    strategy = propose_strategy(
        skill=skill,
        when="the customer mentions two orders",
        do="ask which order they mean before looking one up",
        because="looking up the wrong order wastes a turn",
    )
    StrategyEvidence.objects.create(strategy=strategy, attempt=attempt, reflection=reflection)
    change_status(strategy, Strategy.Status.LIVE, actor=admin_user)
    publish_release(actor=admin_user, note="first")
    StrategyUse.objects.create(attempt=attempt, strategy_version=strategy.current_version)
    StrategyFeedback.objects.create(
        strategy=strategy, agent=agent, attempt=attempt, verdict="helpful"
    )
    ReviewDecision.objects.create(
        actor=admin_user, strategy=strategy, action=ReviewDecision.Action.ACCEPT, revision=1
    )
    claim_item(
        propose_strategy(
            skill=skill,
            when="when the customer names an order number that has a typo in it",
            do="read the number back and ask them to confirm it before looking it up",
            because="a wrong number finds another customer's order",
        ),
        actor=reviewer(),
    )
    TaxonomyProposal.objects.create(
        parent=skill,
        key="support.intent.ambiguity.two_orders",
        name="Two orders",
        rationale="Seen in failed attempts",
        proposer_type=TaxonomyProposal.ProposerType.COACH,
        proposer_name="trace-diff",
    )
    CompetencyEstimate.objects.create(
        agent=agent, skill=skill, estimate=0.4, uncertainty=0.2, attempts=1
    )
    CompetencySnapshot.objects.create(
        agent=agent, skill=skill, estimate=0.4, uncertainty=0.2, attempt=attempt
    )
    scenario = PracticeScenario.objects.create(
        skill=skill, difficulty=0.3, prompt="A customer with two open orders asks for a refund."
    )
    PracticeAssignment.objects.create(
        agent=agent, scenario=scenario, reason=PracticeAssignment.Reason.WEAK
    )


def test_every_model_of_the_three_apps_is_registered():
    missing = [model.__name__ for model in OUR_MODELS if not admin.site.is_registered(model)]
    assert missing == []


@pytest.mark.parametrize("model", OUR_MODELS, ids=lambda model: model._meta.label)
def test_superuser_can_list_search_and_open_every_model(admin_client, one_of_everything, model):
    response = admin_client.get(url(model, "changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count >= 1
    for term in ("1", "support"):
        assert admin_client.get(url(model, "changelist"), {"q": term}).status_code == 200

    row = model._default_manager.first()
    assert admin_client.get(url(model, "change", row.pk)).status_code == 200

    model_admin = admin.site.get_model_admin(model)
    add_page = admin_client.get(url(model, "add"))
    allowed = model_admin.has_add_permission(response.wsgi_request)
    assert add_page.status_code == (200 if allowed else 403)


@pytest.mark.parametrize(
    "model",
    [
        AuditEvent,
        ReviewDecision,
        CompetencySnapshot,
        Strategy,
        AgentBoundary,
        apps.get_model("practice", "StrategyVersion"),
        apps.get_model("practice", "MemoryRelease"),
        apps.get_model("practice", "MemoryReleaseEntry"),
        apps.get_model("practice", "Attempt"),
        apps.get_model("practice", "TraceStep"),
    ],
    ids=lambda model: model._meta.label,
)
def test_records_are_view_only(admin_client, one_of_everything, model):
    row = model._default_manager.first()
    changelist = admin_client.get(url(model, "changelist"))
    assert changelist.context["has_add_permission"] is False
    assert b"delete_selected" not in changelist.content
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(url(model, "delete", row.pk)).status_code == 403
    assert admin_client.post(url(model, "change", row.pk), {}).status_code == 403
    assert model._default_manager.filter(pk=row.pk).exists()


def test_audit_events_cannot_be_added_or_deleted(admin_client, admin_user):
    SkillFactory(key="support")
    revoke_key(issue_key(AgentFactory(), actor=admin_user).key, actor=admin_user)
    event = AuditEvent.objects.first()

    changelist = admin_client.get(url(AuditEvent, "changelist"))
    assert changelist.status_code == 200
    assert b"agent_key.revoked" in changelist.content
    assert url(AuditEvent, "add").encode() not in changelist.content
    assert admin_client.get(url(AuditEvent, "add")).status_code == 403
    assert (
        admin_client.post(url(AuditEvent, "delete", event.pk), {"post": "yes"}).status_code == 403
    )
    response = admin_client.post(
        url(AuditEvent, "changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert response.status_code == 200  # an unknown action re-renders the list
    assert AuditEvent.objects.filter(pk=event.pk).exists()


# --- Agent keys -------------------------------------------------------------------------------------


def test_adding_a_key_stores_only_its_hash_and_shows_it_once(admin_client, admin_user):
    agent = AgentFactory(name="support-bot")
    response = admin_client.post(
        url(AgentKey, "add"),
        {"agent": agent.pk, "label": "prod", "expires_at_0": "", "expires_at_1": ""},
        follow=True,
    )
    assert response.status_code == 200

    key = AgentKey.objects.get()
    assert (key.agent, key.label, key.created_by) == (agent, "prod", admin_user)
    successes = [text for level, text in shown_messages(response) if level == "success"]
    shown = [found for text in successes for found in KEY_PATTERN.findall(text)]
    assert len(shown) == 1
    secret = shown[0]
    assert any("will not be shown again" in text for text in successes)
    assert secret in response.content.decode()
    assert key.hashed_key == hash_key(secret)
    assert secret not in key.hashed_key
    assert authenticate_key(secret) == key
    assert AuditEvent.objects.filter(
        action="agent_key.created", object_id=key.prefix, actor_user=admin_user
    ).exists()

    for page in (url(AgentKey, "changelist"), url(AgentKey, "change", key.pk)):
        content = admin_client.get(page).content.decode()
        assert key.prefix in content
        assert secret not in content
        assert key.hashed_key not in content


def test_a_key_cannot_be_added_with_a_past_expiry(admin_client):
    agent = AgentFactory()
    yesterday = timezone.localtime() - timedelta(days=1)
    response = admin_client.post(
        url(AgentKey, "add"),
        {
            "agent": agent.pk,
            "label": "old",
            "expires_at_0": yesterday.strftime("%Y-%m-%d"),
            "expires_at_1": yesterday.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert "must lie in the future" in str(response.context["adminform"].form.errors)
    assert not AgentKey.objects.exists()


def test_revoke_action_revokes_and_warns_about_keys_already_revoked(admin_client, admin_user):
    agent = AgentFactory()
    fresh = issue_key(agent, label="fresh").key
    old = issue_key(agent, label="old").key
    revoke_key(old)

    response = admin_client.post(
        url(AgentKey, "changelist"),
        {"action": "revoke_keys", "_selected_action": [fresh.pk, old.pk]},
        follow=True,
    )
    assert response.status_code == 200
    fresh.refresh_from_db()
    assert fresh.revoked_at is not None
    assert AuditEvent.objects.filter(
        action="agent_key.revoked", object_id=fresh.prefix, actor_user=admin_user
    ).exists()
    messages = shown_messages(response)
    assert ("success", "Revoked 1 key(s).") in messages
    assert [text for level, text in messages if level == "warning"] == [
        f"Key {old.prefix} was already revoked on {old.revoked_at:%Y-%m-%d}."
    ]


def test_keys_cannot_be_changed_or_deleted(admin_client):
    key = issue_key(AgentFactory()).key
    changelist = admin_client.get(url(AgentKey, "changelist"))
    assert b"revoke_keys" in changelist.content
    assert b"delete_selected" not in changelist.content
    assert admin_client.post(url(AgentKey, "delete", key.pk), {"post": "yes"}).status_code == 403
    assert admin_client.post(url(AgentKey, "change", key.pk), {"label": "x"}).status_code == 403
    key.refresh_from_db()
    assert key.label == ""


def test_usable_filter_and_column(admin_client):
    agent = AgentFactory()
    usable = issue_key(agent, label="usable").key
    revoked = revoke_key(issue_key(agent, label="revoked").key)

    listed = admin_client.get(url(AgentKey, "changelist"), {"usable": "yes"})
    assert [key.pk for key in listed.context["cl"].result_list] == [usable.pk]
    listed = admin_client.get(url(AgentKey, "changelist"), {"usable": "no"})
    assert [key.pk for key in listed.context["cl"].result_list] == [revoked.pk]


# --- Agents and boundaries -----------------------------------------------------------------------


def test_creating_an_agent_goes_through_the_service(admin_client, admin_user):
    support = SkillFactory(key="support")
    response = admin_client.post(
        url(Agent, "add"),
        {"name": "returns-bot", "description": "", "boundary_skills": [support.pk]},
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="agent.created")
    assert event.object_id == "returns-bot"
    assert event.after["boundaries"] == ["support"]
    assert event.actor_user == admin_user


def test_changing_boundaries_is_audited(admin_client, admin_user):
    agent = AgentFactory(name="support-bot", boundaries=["support"])
    boundary = AgentBoundary.objects.get(agent=agent)
    billing = SkillFactory(key="billing")
    response = admin_client.post(
        url(Agent, "change", agent.pk),
        {
            "description": "answers customers",
            "active": "on",
            "boundary_skills": [billing.pk],
            "boundary_links-TOTAL_FORMS": "1",
            "boundary_links-INITIAL_FORMS": "1",
            "boundary_links-0-id": boundary.pk,
            "boundary_links-0-agent": agent.pk,
        },
    )
    assert response.status_code == 302
    assert list(agent.boundaries.values_list("key", flat=True)) == ["billing"]
    changed = AuditEvent.objects.get(action="agent.boundaries_changed")
    assert (changed.before["boundaries"], changed.after["boundaries"]) == (["support"], ["billing"])
    assert changed.actor_user == admin_user
    updated = AuditEvent.objects.get(action="agent.updated")
    assert updated.after["description"] == "answers customers"


def test_boundary_autocomplete_answers(admin_client):
    SkillFactory(key="support.refunds")
    response = admin_client.get(
        "/admin/autocomplete/",
        {"app_label": "practice", "model_name": "agent", "field_name": "boundaries", "term": "ref"},
    )
    assert response.status_code == 200
    assert [result["text"] for result in response.json()["results"]] == ["support.refunds"]


# --- Skills ---------------------------------------------------------------------------------------


def skill_form(**fields):
    return {
        "name": "Refunds",
        "description": "",
        "kind": "skill",
        "origin": "designed",
        "mastery_threshold": "0.8",
        "active": "on",
        **fields,
    }


def test_adding_a_skill_goes_through_the_service(admin_client, admin_user):
    SkillFactory(key="support")
    response = admin_client.post(url(Skill, "add"), skill_form(key="support.refunds"))
    assert response.status_code == 302
    skill = Skill.objects.get(key="support.refunds")
    assert (skill.parent.key, skill.depth) == ("support", 1)
    assert AuditEvent.objects.get(
        action="skill.created", object_id="support.refunds"
    ).actor_user == (admin_user)


def test_adding_a_skill_without_its_parent_is_refused_on_the_form(admin_client):
    response = admin_client.post(url(Skill, "add"), skill_form(key="support.refunds"))
    assert response.status_code == 200
    assert "Its parent support does not exist" in str(response.context["adminform"].form.errors)
    assert not Skill.objects.exists()


def test_changing_a_skill_is_audited_and_its_key_stays(admin_client, admin_user):
    skill = SkillFactory(key="support")
    response = admin_client.post(
        url(Skill, "change", skill.pk),
        skill_form(key="billing", name="Customer support", sensitive="on"),
    )
    assert response.status_code == 302
    skill.refresh_from_db()
    assert (skill.key, skill.name, skill.sensitive) == ("support", "Customer support", True)
    event = AuditEvent.objects.get(action="skill.updated")
    assert (event.before["sensitive"], event.after["sensitive"]) == (False, True)
    assert event.actor_user == admin_user


def test_deleting_a_skill_with_attempts_shows_an_error_and_keeps_it(admin_client):
    skill = AttemptFactory(skill=SkillFactory(key="support.refunds")).skill
    response = admin_client.post(url(Skill, "delete", skill.pk), {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert Skill.objects.filter(pk=skill.pk).exists()
    errors = [text for level, text in shown_messages(response) if level == "error"]
    assert len(errors) == 1
    assert "support.refunds cannot be deleted: attempts refer to it" in errors[0]
    assert not any(level == "success" for level, _ in shown_messages(response))
    assert not AuditEvent.objects.filter(action="skill.deleted").exists()
    assert not LogEntry.objects.filter(action_flag=DELETION).exists()


def test_deleting_an_unused_skill_is_audited(admin_client, admin_user):
    skill = SkillFactory(key="support")
    response = admin_client.post(url(Skill, "delete", skill.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not Skill.objects.exists()
    assert AuditEvent.objects.get(action="skill.deleted").actor_user == admin_user


def test_bulk_delete_goes_through_the_service(admin_client):
    leaf = SkillFactory(key="support.refunds")
    SkillFactory(key="billing")
    response = admin_client.post(
        url(Skill, "changelist"),
        {"action": "delete_selected", "_selected_action": [leaf.pk], "post": "yes"},
    )
    assert response.status_code == 302
    assert sorted(Skill.objects.values_list("key", flat=True)) == ["billing", "support"]
    assert AuditEvent.objects.filter(action="skill.deleted", object_id="support.refunds").exists()


def test_deactivate_action_is_audited(admin_client):
    skill = SkillFactory(key="support")
    admin_client.post(
        url(Skill, "changelist"),
        {"action": "deactivate_skills", "_selected_action": [skill.pk]},
    )
    skill.refresh_from_db()
    assert skill.active is False
    assert AuditEvent.objects.filter(action="skill.deactivated", object_id="support").exists()


# --- Roles ----------------------------------------------------------------------------------------


def test_auditor_can_view_but_not_add_skills(client, django_user_model):
    user = django_user_model.objects.create_user(username="aude", password="x", is_staff=True)
    user.groups.add(Group.objects.get(name="auditor"))
    skill = SkillFactory(key="support")
    client.force_login(user)

    assert client.get(url(Skill, "changelist")).status_code == 200
    assert client.get(url(Skill, "change", skill.pk)).status_code == 200
    assert client.get(url(AuditEvent, "changelist")).status_code == 200
    assert client.get(url(Skill, "add")).status_code == 403
    assert client.post(url(Skill, "delete", skill.pk), {"post": "yes"}).status_code == 403
    assert Skill.objects.filter(pk=skill.pk).exists()
