"""The review pages, per role: reviewers read and decide, auditors only read (every POST is 403),
operators read and restore, anonymous visitors are sent to sign in."""

import re

import pytest
from django.urls import reverse

from oversight.models import ReviewClaim, ReviewDecision
from oversight.services import review
from practice.models import Strategy
from taxonomy.models import Skill, TaxonomyProposal
from tests.factories import auditor, operator, reviewer
from tests.oversight.test_review_services import open_proposal, queued_strategy

pytestmark = pytest.mark.django_db


def url(name, *args):
    return reverse(f"oversight:{name}", args=args)


def page_messages(response):
    return [str(message) for message in response.context["messages"]]


@pytest.fixture
def rita(client):
    user = reviewer(username="rita")
    client.force_login(user)
    return user


@pytest.fixture
def strategy():
    return queued_strategy()


def live_strategy():
    strategy = queued_strategy(when="the customer is angry", do="acknowledge the delay first")
    review.accept(strategy, actor=reviewer(username="lena"), revision=strategy.revision)
    strategy.refresh_from_db()
    return strategy


# --- Who may do what -------------------------------------------------------------------------------

POSTS = [
    ("strategy-accept", {"accept-revision": "1"}),
    (
        "strategy-edit",
        {"edit-revision": "1", "edit-when": "w", "edit-do": "d", "edit-because": "b"},
    ),
    ("strategy-edit-preview", {"edit-when": "w"}),
    ("strategy-reject", {"reject-revision": "1", "reject-reason_code": "vague"}),
    ("strategy-resolve", {"resolve-revision": "1", "resolve-resolution": "keep_both"}),
    ("strategy-retire", {"retire-revision": "1", "retire-comment": "old"}),
    ("strategy-put-back", {}),
]


@pytest.mark.parametrize(("name", "data"), POSTS)
def test_anonymous_visitors_are_sent_to_sign_in(client, strategy, name, data):
    for response in (
        client.get(url("review-queue")),
        client.get(url("strategy-review", strategy.pk)),
        client.post(url(name, strategy.pk), data),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(("name", "data"), POSTS)
def test_auditors_read_the_queue_and_items_but_every_post_is_403(client, strategy, name, data):
    client.force_login(auditor(username="ada"))

    assert client.get(url("review-queue")).status_code == 200
    item = client.get(url("strategy-review", strategy.pk))
    assert item.status_code == 200
    assert b"When" in item.content and b'id="accept-form"' not in item.content
    assert client.get(url("strategy-history", strategy.pk)).status_code == 200

    assert client.post(url(name, strategy.pk), data).status_code == 403
    assert (
        client.post(url("review-bulk"), {"items": [f"strategy:{strategy.pk}:1"]}).status_code == 403
    )
    assert client.post(url("strategy-restore", strategy.pk, 1), {}).status_code == 403
    strategy.refresh_from_db()
    assert strategy.status == Strategy.Status.PROPOSED
    assert not ReviewClaim.objects.exists()  # reading claims nothing
    assert not ReviewDecision.objects.exists()


def test_auditors_and_operators_read_proposals_but_cannot_decide_them(client):
    proposal = open_proposal()
    for user in (auditor(), operator()):
        client.force_login(user)
        assert client.get(url("proposal-review", proposal.pk)).status_code == 200
        response = client.post(url("proposal-accept", proposal.pk), {"accept-revision": "1"})
        assert response.status_code == 403
        assert client.post(url("proposal-reject", proposal.pk), {}).status_code == 403
    assert TaxonomyProposal.objects.get().status == "proposed"


def test_operators_decide_nothing_but_may_restore(client, strategy):
    client.force_login(operator(username="olga"))
    assert (
        client.post(url("strategy-accept", strategy.pk), {"accept-revision": "1"}).status_code
        == 403
    )
    assert client.get(url("strategy-history", strategy.pk)).status_code == 200


def test_the_review_link_shows_for_reviewers_only(client, rita):
    assert b">Review</a>" in client.get("/").content
    client.force_login(auditor())
    assert b">Review</a>" not in client.get("/").content


# --- The queue -------------------------------------------------------------------------------------


def test_the_queue_shows_items_size_oldest_age_and_bulk_checkboxes(client, rita, strategy):
    proposal = open_proposal()

    response = client.get(url("review-queue"))

    html = response.content.decode()
    assert response.status_code == 200
    assert re.search(r"<strong>2</strong> items in the queue", html)
    assert "oldest waiting" in html
    assert f'value="strategy:{strategy.pk}:{strategy.revision}"' in html
    assert f'value="proposal:{proposal.pk}:{proposal.revision}"' in html
    assert strategy.current_version.when_text in html
    assert "etude/review.js" in html


def test_the_queue_filters_answer_htmx_with_the_results_partial(client, rita, strategy):
    other = queued_strategy("policy.refunds", when="x y", do="z w")

    response = client.get(url("review-queue"), {"skill": "policy"}, headers={"HX-Request": "true"})

    html = response.content.decode()
    assert "<html" not in html and html.strip().startswith('<div id="queue-results">')
    assert f"strategy:{other.pk}:" in html and f"strategy:{strategy.pk}:" not in html
    assert "HX-Request" in response["Vary"]
    full = client.get(url("review-queue"), {"skill": "policy"})
    assert "<html" in full.content.decode()


def test_bulk_accept_reports_per_item(client, rita, strategy):
    second = queued_strategy(when="the customer is angry", do="acknowledge the delay first")
    review.claim_item(second, actor=reviewer(username="sam"))

    response = client.post(
        url("review-bulk") + "?sort=newest",
        {
            "items": [f"strategy:{strategy.pk}:1", f"strategy:{second.pk}:1"],
            "decision": "accept",
        },
        follow=True,
    )

    assert response.redirect_chain[0][0] == url("review-queue") + "?sort=newest"
    messages = page_messages(response)
    assert any(f"Strategy #{strategy.pk}: Strategy #{strategy.pk} is live" in m for m in messages)
    assert any(f"Strategy #{second.pk}: sam is working on this item" in m for m in messages)
    strategy.refresh_from_db(), second.refresh_from_db()
    assert (strategy.status, second.status) == ("live", "proposed")


def test_bulk_reject_without_a_reason_changes_nothing(client, rita, strategy):
    response = client.post(
        url("review-bulk"),
        {"items": [f"strategy:{strategy.pk}:1"], "decision": "reject"},
        follow=True,
    )
    assert "Choose a reason code." in page_messages(response)
    strategy.refresh_from_db()
    assert strategy.status == "proposed"


# --- A strategy under review -----------------------------------------------------------------------


def test_the_item_page_shows_text_evidence_and_decisions_and_claims_it(client, rita, strategy):
    response = client.get(url("strategy-review", strategy.pk))

    html = response.content.decode()
    version = strategy.current_version
    for text in (version.when_text, version.do_text, version.because_text, "support.refunds"):
        assert text in html
    assert re.search(
        r'<li value="3" class="decision-point failed">\s*<code>refund_order</code>', html
    )
    assert "At step 3 the agent refunded an order it had not looked up." in html
    assert "should have chosen get_order_details first" in html
    for form in ("accept-form", "edit-form", "reject-form"):
        assert f'id="{form}"' in html
    assert "You hold this item" in html
    assert ReviewClaim.objects.get().holder == rita


def test_a_second_reviewer_sees_the_holder_and_cannot_decide(client, rita, strategy):
    client.get(url("strategy-review", strategy.pk))
    client.force_login(reviewer(username="sam"))

    page = client.get(url("strategy-review", strategy.pk))
    assert "rita is working on this item" in page.content.decode()
    assert b'id="accept-form"' not in page.content

    refused = client.post(url("strategy-accept", strategy.pk), {"accept-revision": "1"})
    assert refused.status_code == 409
    assert any("rita is working on this item" in m for m in page_messages(refused))
    strategy.refresh_from_db()
    assert strategy.status == "proposed"


def test_the_queue_says_who_gave_a_sensitive_strategy_its_first_approval(client, rita):
    sensitive = queued_strategy("support.refunds", sensitive=True)
    client.post(url("strategy-accept", sensitive.pk), {"accept-revision": "1"})
    sensitive.refresh_from_db()
    assert sensitive.status == "proposed"  # waits for a second person

    assert "approved by you: 1 of 2" in client.get(url("review-queue")).content.decode()
    client.force_login(reviewer(username="omar"))
    assert "approved by rita: 1 of 2" in client.get(url("review-queue")).content.decode()


def test_accept_goes_on_to_the_next_item(client, rita, strategy):
    following = queued_strategy(when="the customer is angry", do="acknowledge the delay first")

    response = client.post(url("strategy-accept", strategy.pk), {"accept-revision": "1"})

    assert response.status_code == 302
    assert response["Location"] == url("strategy-review", following.pk)
    strategy.refresh_from_db()
    assert strategy.status == "live"

    last = client.post(
        url("strategy-accept", following.pk) + "?sort=newest", {"accept-revision": "1"}
    )
    assert last["Location"] == url("review-queue") + "?sort=newest"


def test_the_edit_preview_is_a_server_side_diff(client, rita, strategy):
    version = strategy.current_version
    response = client.post(
        url("strategy-edit-preview", strategy.pk),
        {
            "edit-when": version.when_text,
            "edit-do": "look the order up with get_order_details, then refund",
            "edit-because": version.because_text,
        },
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert "<html" not in html
    assert "<del>before</del>" in html and "<ins>then</ins>" in html
    unchanged = client.post(
        url("strategy-edit-preview", strategy.pk),
        {
            "edit-when": version.when_text,
            "edit-do": version.do_text,
            "edit-because": version.because_text,
        },
    )
    assert "The text is the same as the proposal." in unchanged.content.decode()


def test_edit_then_accept(client, rita, strategy):
    response = client.post(
        url("strategy-edit", strategy.pk),
        {
            "edit-revision": "1",
            "edit-when": "the customer asks for a refund",
            "edit-do": "look the order up first",
            "edit-because": "an unknown order cannot be refunded",
        },
    )

    assert response.status_code == 302
    strategy.refresh_from_db()
    assert strategy.status == "live"
    assert strategy.current_version.do_text == "look the order up first"


def test_a_stale_edit_is_refused_and_the_typed_text_is_kept(client, rita, strategy):
    review.reject(strategy, actor=reviewer(username="sam"), revision=1, reason_code="wrong")

    response = client.post(
        url("strategy-edit", strategy.pk),
        {
            "edit-revision": "1",
            "edit-when": "w",
            "edit-do": "my careful rewrite",
            "edit-because": "b",
        },
    )

    assert response.status_code == 409
    html = response.content.decode()
    assert "my careful rewrite" in html
    assert any("sam rejected it (wrong)" in m for m in page_messages(response))
    strategy.refresh_from_db()
    assert strategy.status == "rejected" and strategy.versions.count() == 1


def test_reject_needs_a_reason(client, rita, strategy):
    missing = client.post(url("strategy-reject", strategy.pk), {"reject-revision": "1"})
    assert missing.status_code == 400
    assert any("Reason" in m for m in page_messages(missing))

    done = client.post(
        url("strategy-reject", strategy.pk),
        {"reject-revision": "1", "reject-reason_code": "duplicate", "reject-comment": "see #1"},
    )
    assert done.status_code == 302
    decision = ReviewDecision.objects.get()
    assert (decision.action, decision.reason_code, decision.comment) == (
        "reject",
        "duplicate",
        "see #1",
    )


def test_replace_a_contradicted_live_strategy(client, rita, strategy):
    live = live_strategy()
    Strategy.objects.filter(pk=strategy.pk).update(conflicts_with=live)

    page = client.get(url("strategy-review", strategy.pk))
    assert "Contradicts live strategy" in page.content.decode()
    response = client.post(
        url("strategy-resolve", strategy.pk),
        {"resolve-revision": "1", "resolve-resolution": "replace"},
    )

    assert response.status_code == 302
    live.refresh_from_db(), strategy.refresh_from_db()
    assert (live.status, strategy.status) == ("retired", "live")


def test_retire_a_live_strategy(client, rita):
    live = live_strategy()
    page = client.get(url("strategy-review", live.pk))
    assert b'id="retire-form"' in page.content

    response = client.post(
        url("strategy-retire", live.pk),
        {"retire-revision": str(live.revision), "retire-comment": "agents report it harmful"},
    )

    assert response.status_code == 302
    live.refresh_from_db()
    assert live.status == "retired"


def test_put_back_releases_the_claim(client, rita, strategy):
    client.get(url("strategy-review", strategy.pk))
    assert ReviewClaim.objects.exists()

    response = client.post(url("strategy-put-back", strategy.pk), follow=True)

    assert not ReviewClaim.objects.exists()
    assert f"Strategy #{strategy.pk} is back in the queue for others." in page_messages(response)


# --- Taxonomy proposals ---------------------------------------------------------------------------


def test_a_reviewer_accepts_a_proposal_with_an_edited_key(client, rita):
    proposal = open_proposal()
    page = client.get(url("proposal-review", proposal.pk))
    assert b"Three failed attempts" in page.content and b'id="accept-form"' in page.content

    response = client.post(
        url("proposal-accept", proposal.pk),
        {
            "accept-revision": "1",
            "accept-parent": "support.refunds",
            "accept-leaf": "partial",
            "accept-name": "Partial refunds",
            "accept-description": "Refunding one item of an order.",
        },
    )

    assert response.status_code == 302
    skill = Skill.objects.get(key="support.refunds.partial")
    assert (skill.origin, skill.kind, skill.description) == (
        "discovered",
        "failure_mode",
        "Refunding one item of an order.",
    )


def test_a_reviewer_rejects_a_proposal_with_a_reason(client, rita):
    proposal = open_proposal()
    response = client.post(
        url("proposal-reject", proposal.pk),
        {"reject-revision": "1", "reject-reason_code": "out_of_scope", "reject-comment": "no"},
    )
    assert response.status_code == 302
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decision_reason) == ("rejected", "out_of_scope")


# --- History and restore ---------------------------------------------------------------------------


def edited(strategy):
    version = strategy.current_version
    review.edit_and_accept(
        strategy,
        actor=reviewer(username="lena"),
        revision=strategy.revision,
        when=version.when_text,
        do="refund without looking anything up",
        because=version.because_text,
    )
    strategy.refresh_from_db()
    return strategy


def test_history_lists_versions_diffs_and_decisions(client, rita, strategy):
    strategy = edited(strategy)

    response = client.get(url("strategy-history", strategy.pk))

    html = response.content.decode()
    assert "Version 2" in html and "Version 1" in html
    assert "<ins>without</ins>" in html or "<ins>refund without" in html
    assert "<del>" in html
    assert "Edit then accept" in html and "lena" in html
    assert html.count("Restore this version") == 1  # the earlier one only
    client.force_login(auditor())
    assert (
        "Restore this version"
        not in client.get(url("strategy-history", strategy.pk)).content.decode()
    )


@pytest.mark.parametrize("role", [operator, reviewer])
def test_operators_and_reviewers_restore_an_earlier_version(client, strategy, role):
    strategy = edited(strategy)
    client.force_login(role(username="restorer"))

    response = client.post(
        url("strategy-restore", strategy.pk, 1),
        {"restore-revision": str(strategy.revision), "restore-comment": "the edit was wrong"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == url("strategy-history", strategy.pk)
    assert any("restored as version 3" in m for m in page_messages(response))
    strategy.refresh_from_db()
    assert strategy.status == "proposed"
    assert strategy.current_version.do_text == strategy.versions.get(number=1).do_text


def test_a_stale_restore_is_refused(client, strategy):
    strategy = edited(strategy)
    client.force_login(operator())
    response = client.post(
        url("strategy-restore", strategy.pk, 1), {"restore-revision": "1"}, follow=True
    )
    assert any("changed after you opened it" in m for m in page_messages(response))
    strategy.refresh_from_db()
    assert strategy.status == "live"
