"""Release pages: the list, what changed between two releases, and rolling back."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from oversight.models import AuditEvent
from practice.models import MemoryRelease
from practice.services.strategies import (
    change_status,
    current_release,
    propose_strategy,
    publish_release,
    revise_strategy,
)
from tests.factories import SkillFactory, auditor, operator, reviewer

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.oversight.audit_site_urls")]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def live(key, when, do, because):
    strategy = propose_strategy(skill=SkillFactory(key=key), when=when, do=do, because=because)
    return change_status(strategy, "live", reason="approved")


@pytest.fixture
def releases():
    """Release 1: orders and refunds. Release 2: orders edited, refunds retired, tone added."""
    orders = live(
        "tools.orders",
        "when the customer gives two order numbers",
        "ask which order the request is about",
        "acting on the wrong order changes someone else's purchase",
    )
    refunds = live(
        "tools.refunds",
        "when a refund exceeds the order total",
        "stop and ask a person to approve it",
        "refunds above the total are always mistakes",
    )
    publish_release(note="first")
    revise_strategy(
        orders,
        when="when the customer gives two order numbers",
        do="ask which order the request is about before calling lookup_order",
        because="acting on the wrong order changes someone else's purchase",
    )
    change_status(refunds, "retired", reason="covered by the policy")
    tone = live(
        "support.tone",
        "when the customer is angry about a delay",
        "apologize once and give the new delivery date",
        "repeated apologies without facts make it worse",
    )
    publish_release(note="second")
    return {"orders": orders, "refunds": refunds, "tone": tone}


def test_the_list_shows_every_release_with_its_facts(client, releases):
    client.force_login(reviewer())
    response = client.get(reverse("releases:list"))

    listed = list(response.context["page"].object_list)
    assert [(r.number, r.note, r.strategies) for r in listed] == [(2, "second", 2), (1, "first", 2)]
    page = response.content.decode()
    assert 'href="/releases/1/diff/2/"' in page
    assert "current" in page
    assert "Roll back to" not in page  # reviewers cannot roll back


def test_the_diff_shows_added_removed_and_edited_strategies(client, releases):
    client.force_login(auditor())
    response = client.get(reverse("releases:diff", args=[1, 2]))

    changes = response.context["changes"]
    assert [change.strategy_id for change in changes.added] == [releases["tone"].pk]
    assert [change.strategy_id for change in changes.removed] == [releases["refunds"].pk]
    assert [change.strategy_id for change in changes.edited] == [releases["orders"].pk]
    assert changes.unchanged == 0
    page = response.content.decode()
    assert "<ins> before calling lookup_order</ins>" in page
    assert "<del>stop and ask a person to approve it</del>" in page
    assert "<ins>apologize once and give the new delivery date</ins>" in page
    assert "1 added, 1 removed, 1 edited, 0 unchanged" in page


def test_the_diff_works_backwards_and_refuses_unknown_releases(client, releases):
    client.force_login(auditor())
    backwards = client.get(reverse("releases:diff", args=[2, 1])).context["changes"]
    assert [change.strategy_id for change in backwards.added] == [releases["refunds"].pk]
    assert client.get(reverse("releases:diff", args=[1, 9])).status_code == 404


def test_the_compare_form_leads_to_the_diff(client, releases):
    client.force_login(auditor())
    response = client.get(reverse("releases:list"), {"older": 1, "newer": 2})
    assert response.status_code == 302
    assert response["Location"] == reverse("releases:diff", args=[1, 2])


def test_an_operator_rolls_back_to_an_earlier_release(client, releases):
    olga = operator(username="olga")
    client.force_login(olga)

    response = client.post(
        reverse("releases:roll-back", args=[1]), {"reason": "the edit confused agents"}
    )

    assert response.status_code == 302
    restored = current_release()
    assert (restored.number, restored.restored_from.number) == (3, 1)
    assert restored.created_by == olga
    assert set(restored.strategy_versions.all()) == set(
        MemoryRelease.objects.get(number=1).strategy_versions.all()
    )
    event = AuditEvent.objects.get(action="release.rolled_back")
    assert (event.actor_label, event.object_id, event.reason) == (
        "olga",
        "3",
        "the edit confused agents",
    )
    assert event.after == {"number": 3, "restored_from": 1}
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == [
        "Release 3 is now current, with the content of release 1; agents get it on their next pull."
    ]
    page = client.get(reverse("releases:list")).content.decode()
    assert "release 1" in page  # restored from


def test_a_rollback_needs_a_reason(client, releases):
    client.force_login(operator())
    response = client.post(reverse("releases:roll-back", args=[1]), {"reason": ""})

    assert current_release().number == 2
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Rollback to release 1 needs a reason."
    ]


def test_rolling_back_to_what_agents_already_pull_is_refused(client, releases):
    client.force_login(operator())
    response = client.post(reverse("releases:roll-back", args=[2]), {"reason": "again"})

    assert MemoryRelease.objects.count() == 2
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Release 2 is already what agents pull."
    ]


@pytest.mark.parametrize("make_user", [reviewer, auditor])
def test_only_operators_roll_back(client, releases, make_user):
    client.force_login(make_user())
    response = client.post(reverse("releases:roll-back", args=[1]), {"reason": "why not"})

    assert response.status_code == 403
    assert current_release().number == 2
    assert not AuditEvent.objects.filter(action="release.rolled_back").exists()


def test_anonymous_visitors_are_sent_to_sign_in(client, releases):
    for url in (reverse("releases:list"), reverse("releases:diff", args=[1, 2])):
        assert client.get(url)["Location"].startswith(reverse("login"))
    response = client.post(reverse("releases:roll-back", args=[1]), {"reason": "x"})
    assert response["Location"].startswith(reverse("login"))
    assert current_release().number == 2


def test_rolling_back_needs_a_post(client, releases):
    client.force_login(operator())
    assert client.get(reverse("releases:roll-back", args=[1])).status_code == 405
