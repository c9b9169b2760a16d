"""The auditor's pages: who may see them, filters, one event as a diff, exports, verification."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from oversight.models import AuditEvent
from oversight.services import Role
from oversight.services.audit import append_event, append_only_guard_lifted
from oversight.services.audit_rows import ROW_FIELDS
from practice.services.strategies import change_status, propose_strategy, revise_strategy
from taxonomy.services import create_skill
from tests.factories import AgentFactory, SkillFactory, UserFactory, auditor, operator, reviewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.oversight.audit_site_urls")]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def history():
    """A small history: a skill, a strategy proposed by an agent, approved, then edited."""
    create_skill(key="tools", name="Tools", actor=operator(username="olga"), reason="first tree")
    agent = AgentFactory(name="support-bot")
    strategy = propose_strategy(
        skill=SkillFactory(key="tools.orders"),
        when="when the customer gives two order numbers",
        do="ask which order the request is about before calling lookup_order",
        because="acting on the wrong order changes someone else's purchase",
        actor=agent,
    )
    approver = reviewer(username="rita")
    change_status(strategy, "live", actor=approver, reason="clear and specific")
    revise_strategy(
        strategy,
        when="when the customer mentions more than one order",
        do="ask which order the request is about before calling lookup_order",
        because="acting on the wrong order changes someone else's purchase",
        actor=approver,
    )
    return strategy


def signed_in(client, user):
    client.force_login(user)
    return client


def sequences(response):
    return [event.sequence for event in response.context["page"].object_list]


# --- Who may see what --------------------------------------------------------------------------------


PAGES = [
    ("get", "audit:events", ()),
    ("get", "audit:event", (1,)),
    ("get", "audit:export", ("jsonl",)),
    ("post", "audit:verify", ()),
]


@pytest.mark.parametrize(("method", "name", "args"), PAGES)
def test_anonymous_visitors_are_sent_to_sign_in(client, history, method, name, args):
    response = getattr(client, method)(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", [Role.REVIEWER, Role.OPERATOR])
@pytest.mark.parametrize(("method", "name", "args"), PAGES)
def test_reviewers_and_operators_are_refused(client, history, role, method, name, args):
    signed_in(client, UserFactory(role=role))
    assert getattr(client, method)(reverse(name, args=args)).status_code == 403


def test_auditors_and_admins_read_the_log(client, history):
    for user in (auditor(), UserFactory(role=Role.ADMIN)):
        response = signed_in(client, user).get(reverse("audit:events"))
        assert response.status_code == 200
        assert (
            sequences(response)
            == sorted(AuditEvent.objects.values_list("sequence", flat=True))[::-1]
        )


def test_the_pages_live_under_audit(history):
    assert reverse("audit:events") == "/audit/"
    assert reverse("audit:event", args=[3]) == "/audit/3/"
    assert reverse("audit:export", args=["csv"]) == "/audit/export.csv"


# --- Filters ------------------------------------------------------------------------------------------


def test_filters_by_action_object_actor_and_time(client, history):
    signed_in(client, auditor())
    url = reverse("audit:events")
    strategy_events = AuditEvent.objects.filter(object_type="strategy", object_id=str(history.pk))

    by_object = client.get(url, {"object_type": "strategy", "object_id": history.pk})
    by_action = client.get(url, {"action": "strategy.live"})
    by_actor = client.get(url, {"actor": "RITA"})
    by_agent = client.get(url, {"actor": "agent:support"})

    assert sequences(by_object) == sorted(
        strategy_events.values_list("sequence", flat=True), reverse=True
    )
    assert [e.action for e in by_action.context["page"].object_list] == ["strategy.live"]
    assert {e.actor_label for e in by_actor.context["page"].object_list} == {"rita"}
    assert [e.action for e in by_agent.context["page"].object_list] == ["strategy.proposed"]
    assert b"<strong data-matching>1</strong> event matches." in by_action.content

    later = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    earlier = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    assert sequences(client.get(url, {"since": later})) == []
    assert len(sequences(client.get(url, {"since": earlier, "until": later}))) == (
        AuditEvent.objects.count()
    )


def test_the_list_pages_newest_first(client):
    for number in range(60):
        append_event(actor=None, action="skill.created", object_type="skill", object_id=number)
    signed_in(client, auditor())

    first = client.get(reverse("audit:events"))
    second = client.get(reverse("audit:events"), {"page": 2, "action": "skill.created"})

    assert sequences(first)[:3] == [60, 59, 58] and len(sequences(first)) == 50
    assert sequences(second) == list(range(10, 0, -1))
    assert b"Page 2 of 2" in second.content
    assert "action=skill.created&amp;page=1" in second.content.decode()


# --- One event -------------------------------------------------------------------------------------


def test_an_event_page_shows_before_and_after_as_a_diff(client, history):
    edited = AuditEvent.objects.get(action="strategy.edited")
    response = signed_in(client, auditor()).get(reverse("audit:event", args=[edited.sequence]))
    page = response.content.decode()

    changed = [row for row in response.context["diff"] if row.change != "equal"]
    assert [(row.before.strip(), row.after.strip()) for row in changed] == [
        ('"revision": 2,', '"revision": 3,'),
        ('"version": 1,', '"version": 2,'),
        (
            '"when": "when the customer gives two order numbers"',
            '"when": "when the customer mentions more than one order"',
        ),
    ]
    assert "<del>  &quot;revision&quot;: 2,</del>" in page
    assert "<ins>  &quot;revision&quot;: 3,</ins>" in page
    assert edited.hash in page and edited.previous_hash in page
    assert f'href="{reverse("oversight:strategy-history", args=[history.pk])}"' in page


def test_an_event_without_before_shows_only_insertions(client, history):
    proposed = AuditEvent.objects.get(action="strategy.proposed")
    response = signed_in(client, auditor()).get(reverse("audit:event", args=[proposed.sequence]))

    assert {row.change for row in response.context["diff"]} == {"insert"}
    assert response.context["diff"][0].before_number is None


def test_event_pages_link_skills_and_agents_to_their_admin_pages(client, history):
    signed_in(client, auditor())
    skill_event = AuditEvent.objects.get(action="skill.created", object_id="tools")
    response = client.get(reverse("audit:event", args=[skill_event.sequence]))
    skill_pk = SkillFactory(key="tools").pk
    assert response.context["object_url"] == reverse("admin:taxonomy_skill_change", args=[skill_pk])

    event = append_event(actor=None, action="agent.created", object_type="agent", object_id="gone")
    assert client.get(reverse("audit:event", args=[event.sequence])).context["object_url"] is None


def test_an_unknown_event_is_not_found(client, history):
    assert signed_in(client, auditor()).get(reverse("audit:event", args=[999])).status_code == 404


# --- Exports --------------------------------------------------------------------------------------------


def test_the_jsonl_export_streams_what_the_filter_shows(client, history):
    signed_in(client, auditor())
    response = client.get(
        reverse("audit:export", args=["jsonl"]),
        {"object_type": "strategy", "object_id": history.pk},
    )

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"].startswith("application/jsonl")
    newest = AuditEvent.objects.latest("sequence").sequence
    assert response["Content-Disposition"] == (
        f'attachment; filename="etude-audit-to-{newest}-filtered.jsonl"'
    )
    events = [json.loads(line) for line in b"".join(response.streaming_content).splitlines()]
    expected = AuditEvent.objects.filter(object_type="strategy", object_id=str(history.pk))
    assert [event["sequence"] for event in events] == list(
        expected.values_list("sequence", flat=True)
    )
    assert response["X-Audit-Events"] == str(len(events)) == "3"
    assert all(list(event) == list(ROW_FIELDS) for event in events)
    assert events[-1]["reason"] == "" and events[1]["reason"] == "clear and specific"


def test_the_csv_export_has_a_header_and_one_row_per_event(client, history):
    signed_in(client, auditor())
    response = client.get(reverse("audit:export", args=["csv"]))

    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="etude-audit-to-' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == AuditEvent.objects.count()
    first = AuditEvent.objects.get(sequence=1)
    assert rows[0]["hash"] == first.hash and rows[0]["actor_label"] == "olga"
    assert json.loads(rows[0]["after"]) == first.after
    assert json.loads(rows[0]["before"]) is None


def test_an_unknown_export_format_is_not_found(client, history):
    assert signed_in(client, auditor()).get("/audit/export.xml").status_code == 404


def test_the_list_offers_exports_with_the_filter_to_auditors_only(client, history):
    signed_in(client, auditor())
    page = client.get(reverse("audit:events"), {"action": "strategy.live"}).content.decode()
    assert f'href="{reverse("audit:export", args=["jsonl"])}?action=strategy.live"' in page
    assert 'data-events="1"' in page
    assert "Verify the chain" in page


# --- Verifying -----------------------------------------------------------------------------------------


def test_the_verify_button_answers_htmx_with_the_result(client, history):
    signed_in(client, auditor())
    total = AuditEvent.objects.count()

    response = client.post(reverse("audit:verify"), HTTP_HX_REQUEST="true")

    page = response.content.decode()
    assert f"All {total} events check out." in page
    assert AuditEvent.objects.latest("sequence").hash in page
    assert "<html" not in page  # only the result fragment


def test_the_verify_button_reports_tampering(client, history):
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence=3).update(reason="approved by the boss")
    signed_in(client, auditor())

    fragment = client.post(reverse("audit:verify"), HTTP_HX_REQUEST="true").content.decode()
    page = client.post(reverse("audit:verify")).content.decode()

    assert "The chain is broken at event" in fragment and "it was changed" in fragment
    assert f'href="{reverse("audit:event", args=[3])}"' in fragment
    assert "<html" in page and "The chain is broken at event" in page


def test_verifying_needs_a_post(client, history):
    assert signed_in(client, auditor()).get(reverse("audit:verify")).status_code == 405
