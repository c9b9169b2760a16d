"""Reviewing the coach's LLM-written scenario variants: accept, edit then accept, reject, with
the same claims, stale checks, roles and audit as every other review item; only an accepted
variant is ever scheduled."""

import re
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from oversight import selectors
from oversight.models import AuditEvent, ReviewClaim, ReviewDecision
from oversight.selectors import QueueFilters
from oversight.services import review, verify_chain
from practice.models import MemoryRelease, PracticeScenario
from practice.scheduler import plan_practice
from taxonomy.models import Skill
from tests.factories import (
    AgentFactory,
    PracticeScenarioFactory,
    ScenarioVariantFactory,
    SkillFactory,
    UserFactory,
    auditor,
    operator,
    reviewer,
)
from tests.oversight.test_review_pages import page_messages, url
from tests.oversight.test_review_services import fresh, queued_strategy

pytestmark = pytest.mark.django_db

Status = PracticeScenario.Status
ORIGINAL_ACTIONS = [{"name": "get_order_details", "arguments": {"order_id": "#W1"}}]
VARIANT_ACTIONS = [
    {"name": "find_user_id_by_email", "arguments": {"email": "noa@example.com"}},
    {"name": "get_order_details", "arguments": {"order_id": "#W1"}},
]


def variant(**fields):
    """A variant of 'orders-basic' (difficulty 0.3) at difficulty 0.7, as the coach leaves it."""
    original = fields.pop("variant_of", None) or PracticeScenarioFactory(
        key="orders-basic",
        skill=SkillFactory(key="support.orders"),
        difficulty=0.3,
        prompt="Hi, where is my order #W1?",
        expected_actions=ORIGINAL_ACTIONS,
    )
    return ScenarioVariantFactory(
        variant_of=original,
        **{
            "prompt": "Hi, I ordered twice last week and one parcel never came. Can you check?",
            "expected_actions": VARIANT_ACTIONS,
            **fields,
        },
    )


def scenario_events(scenario):
    return list(
        AuditEvent.objects.filter(object_type="scenario", object_id=str(scenario.pk)).order_by(
            "sequence"
        )
    )


# --- Accept ---------------------------------------------------------------------------------------


def test_accept_approves_the_variant_with_a_decision_and_an_audit_event():
    rita = reviewer(username="rita")
    proposed = variant()
    review.claim_item(proposed, actor=rita)

    outcome = review.accept_scenario(proposed, actor=rita, revision=proposed.revision)

    scenario = fresh(proposed)
    assert (scenario.status, scenario.revision) == (Status.APPROVED, 2)
    assert scenario.prompt.startswith("Hi, I ordered twice")
    decision = ReviewDecision.objects.get()
    assert (decision.action, decision.scenario, decision.actor, decision.revision) == (
        "accept",
        scenario,
        rita,
        1,
    )
    assert decision.strategy is None and decision.taxonomy_proposal is None
    [event] = scenario_events(scenario)
    assert (event.action, event.actor_user) == ("review.accept", rita)
    assert (event.before["status"], event.after["status"]) == ("proposed", "approved")
    assert event.after["revision"] == 2 and event.after["variant_of"] == scenario.variant_of_id
    assert verify_chain()[1] is None
    assert not ReviewClaim.objects.exists()
    assert not MemoryRelease.objects.exists()  # scenarios are not practice memory
    assert outcome.message == (
        f"Scenario #{scenario.pk} approved; the scheduler may now assign it for support.orders."
    )


def test_edit_then_accept_applies_the_edits_and_the_audit_shows_before_and_after():
    rita = reviewer(username="rita")
    proposed = variant()
    edited_actions = [{"name": "find_user_id_by_email", "arguments": {"email": "noa@example.com"}}]

    outcome = review.accept_scenario(
        proposed,
        actor=rita,
        revision=1,
        prompt="  Hi, one of my two orders never came. Which one?  ",
        difficulty=0.6,
        expected_actions=edited_actions,
        comment="the second lookup is not needed",
    )

    scenario = fresh(proposed)
    assert scenario.status == Status.APPROVED
    assert scenario.prompt == "Hi, one of my two orders never came. Which one?"
    assert scenario.difficulty == 0.6
    assert scenario.expected_actions == edited_actions
    decision = ReviewDecision.objects.get()
    assert (decision.action, decision.comment) == ("edit_accept", "the second lookup is not needed")
    [event] = scenario_events(scenario)
    assert event.action == "review.edit_accept"
    assert event.before["prompt"].startswith("Hi, I ordered twice")
    assert (event.before["difficulty"], event.after["difficulty"]) == (0.7, 0.6)
    assert event.before["expected_actions"] == VARIANT_ACTIONS
    assert event.after["expected_actions"] == edited_actions
    assert event.reason == "the second lookup is not needed"
    assert "edited (prompt, difficulty, expected actions) and approved" in outcome.message


def test_an_edit_that_changes_nothing_is_a_plain_accept_and_none_clears_the_actions():
    same = variant()
    review.accept_scenario(
        same,
        actor=reviewer(),
        revision=1,
        prompt=same.prompt,
        difficulty=same.difficulty,
        expected_actions=VARIANT_ACTIONS,
    )
    assert ReviewDecision.objects.get(scenario=same).action == "accept"

    cleared = variant(variant_of=same.variant_of, expected_actions=[{"name": "greet"}])
    review.accept_scenario(cleared, actor=reviewer(), revision=1, expected_actions=None)
    cleared = fresh(cleared)
    assert cleared.expected_actions is None
    assert ReviewDecision.objects.get(scenario=cleared).action == "edit_accept"

    # Arguments left out read as empty ones: still the same actions, stored as they were.
    kept = variant(variant_of=same.variant_of, expected_actions=[{"name": "greet"}])
    review.accept_scenario(
        kept, actor=reviewer(), revision=1, expected_actions=[{"name": "greet", "arguments": {}}]
    )
    assert fresh(kept).expected_actions == [{"name": "greet"}]
    assert ReviewDecision.objects.get(scenario=kept).action == "accept"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"prompt": "   "}, "leaves the prompt empty"),
        ({"difficulty": 1.5}, "from 0 to 1, not 1.5"),
        ({"difficulty": float("nan")}, "from 0 to 1"),
        ({"difficulty": "0.5"}, "must be a number"),
        ({"expected_actions": "get_order_details"}, "expected_actions must be a list of actions"),
        ({"expected_actions": [{"name": " "}]}, r"expected_actions\[0\]\.name must not be empty"),
        (
            {"expected_actions": [{"name": "a", "arguments": [1]}]},
            r"expected_actions\[0\]\.arguments must be an object",
        ),
        (
            {"expected_actions": [{"name": "a", "tool": "b"}]},
            r"expected_actions\[0\]\.tool unknown",
        ),
        ({"expected_actions": [{"arguments": {}}]}, r"expected_actions\[0\]\.name is required"),
    ],
)
def test_an_unusable_edit_is_refused_and_changes_nothing(edit, message):
    proposed = variant()

    with pytest.raises(review.InvalidDecision, match=message):
        review.accept_scenario(proposed, actor=reviewer(), revision=1, **edit)

    scenario = fresh(proposed)
    assert (scenario.status, scenario.revision, scenario.difficulty) == (Status.PROPOSED, 1, 0.7)
    assert scenario.expected_actions == VARIANT_ACTIONS
    assert not ReviewDecision.objects.exists() and not scenario_events(scenario)


# --- Reject and the refusals ----------------------------------------------------------------------


def test_reject_needs_a_reason_and_records_it():
    rita = reviewer(username="rita")
    proposed = variant()
    with pytest.raises(review.InvalidDecision, match="Choose a reason code"):
        review.reject_scenario(proposed, actor=rita, revision=1, reason_code="")
    with pytest.raises(review.InvalidDecision, match="what the other reason is"):
        review.reject_scenario(proposed, actor=rita, revision=1, reason_code="other")
    assert fresh(proposed).status == Status.PROPOSED

    outcome = review.reject_scenario(
        proposed, actor=rita, revision=1, reason_code="wrong", comment="the orders do not exist"
    )

    scenario = fresh(proposed)
    assert (scenario.status, scenario.revision) == (Status.REJECTED, 2)
    decision = ReviewDecision.objects.get()
    assert (decision.action, decision.reason_code, decision.scenario) == (
        "reject",
        "wrong",
        scenario,
    )
    [event] = scenario_events(scenario)
    assert event.action == "review.reject"
    assert event.reason == "wrong: the orders do not exist"
    assert (event.before["status"], event.after["status"]) == ("proposed", "rejected")
    assert outcome.message == f"Scenario #{scenario.pk} rejected (wrong)."


@pytest.mark.parametrize("status", [Status.APPROVED, Status.REJECTED, Status.RETIRED])
def test_only_proposed_scenarios_are_decided(status):
    scenario = variant(status=status)
    with pytest.raises(review.InvalidDecision, match=f"already {status}"):
        review.accept_scenario(scenario, actor=reviewer(), revision=1)
    with pytest.raises(review.InvalidDecision, match=f"already {status}"):
        review.reject_scenario(scenario, actor=reviewer(), revision=1, reason_code="vague")
    assert fresh(scenario).status == status
    assert not ReviewDecision.objects.exists()


def test_a_stale_revision_is_refused_saying_who_decided_and_nothing_is_applied():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    proposed = variant()
    seen = proposed.revision
    review.reject_scenario(proposed, actor=rita, revision=seen, reason_code="vague")

    with pytest.raises(review.StaleItem) as refused:
        review.accept_scenario(proposed, actor=sam, revision=seen, difficulty=0.5)

    assert "Scenario #" in str(refused.value)
    assert "rita rejected it (vague)" in str(refused.value)
    assert "It is rejected now." in str(refused.value)
    scenario = fresh(proposed)
    assert (scenario.status, scenario.difficulty) == (Status.REJECTED, 0.7)
    assert ReviewDecision.objects.count() == 1


def test_a_claim_held_by_another_blocks_deciding_until_put_back():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    proposed = variant()
    review.claim_item(proposed, actor=sam)

    with pytest.raises(review.ClaimedByOther, match="sam is working on this item"):
        review.accept_scenario(proposed, actor=rita, revision=1)
    with pytest.raises(review.ClaimedByOther):
        review.claim_item(proposed, actor=rita)
    assert fresh(proposed).status == Status.PROPOSED

    assert review.release_claim(proposed, actor=sam)
    review.accept_scenario(proposed, actor=rita, revision=1)
    assert fresh(proposed).status == Status.APPROVED


@pytest.mark.parametrize("role", ["none", "auditor", "operator"])
def test_only_reviewers_decide_scenarios(role):
    actor = {"none": UserFactory, "auditor": auditor, "operator": operator}[role]()
    proposed = variant()
    with pytest.raises(review.NotAllowed, match="needs the reviewer role"):
        review.accept_scenario(proposed, actor=actor, revision=1)
    with pytest.raises(review.NotAllowed):
        review.reject_scenario(proposed, actor=actor, revision=1, reason_code="vague")
    with pytest.raises(review.NotAllowed):
        review.claim_item(proposed, actor=actor)
    assert fresh(proposed).status == Status.PROPOSED
    assert not AuditEvent.objects.filter(object_type="scenario").exists()


def test_a_decision_or_claim_names_exactly_one_item():
    strategy, proposed = queued_strategy(), variant()
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.create(
            actor=reviewer(), action="accept", revision=1, strategy=strategy, scenario=proposed
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewDecision.objects.create(actor=reviewer(), action="accept", revision=1)
    now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewClaim.objects.create(
            holder=reviewer(),
            strategy=strategy,
            scenario=proposed,
            claimed_at=now,
            expires_at=now.replace(hour=13),
        )


# --- The scheduler --------------------------------------------------------------------------------


def test_a_variant_is_scheduled_only_once_accepted():
    SkillFactory(key="support", kind=Skill.Kind.CATEGORY)
    agent = AgentFactory(name="retail-agent", boundaries=["support"])
    proposed = variant()
    # The original leaves the bank, so only the variant could be picked for the skill.
    PracticeScenario.objects.filter(pk=proposed.variant_of_id).update(status=Status.RETIRED)
    now = datetime(2025, 6, 2, 12, 0, tzinfo=UTC)
    assert plan_practice(agent, now=now, budget=3) == []

    review.reject_scenario(
        variant(variant_of=proposed.variant_of), actor=reviewer(), revision=1, reason_code="wrong"
    )
    assert plan_practice(agent, now=now, budget=3) == []  # rejected: never scheduled

    review.accept_scenario(proposed, actor=reviewer(), revision=1)
    picks = plan_practice(agent, now=now, budget=3)
    assert picks and {pick.scenario.pk for pick in picks} == {proposed.pk}


# --- Bulk -----------------------------------------------------------------------------------------


def test_bulk_decides_scenarios_through_the_single_item_functions():
    rita = reviewer(username="rita")
    first = variant()
    stale = variant(variant_of=first.variant_of)
    strategy = queued_strategy()

    results = review.bulk_decide(
        [
            ("scenario", first.pk, 1),
            ("scenario", stale.pk, 2),
            ("strategy", strategy.pk, strategy.revision),
            ("scenario", 999_999, 1),
        ],
        actor=rita,
        decision="accept",
    )

    assert [(result.label, result.done) for result in results] == [
        (f"Scenario #{first.pk}", True),
        (f"Scenario #{stale.pk}", False),
        (f"Strategy #{strategy.pk}", True),
        ("Scenario #999999", False),
    ]
    assert "changed after you opened it" in results[1].message
    assert "does not exist" in results[3].message
    assert (fresh(first).status, fresh(stale).status) == (Status.APPROVED, Status.PROPOSED)

    rejected = review.bulk_decide(
        [("scenario", stale.pk, 1)], actor=rita, decision="reject", reason_code="duplicate"
    )
    assert rejected[0].done and fresh(stale).status == Status.REJECTED


# --- The queue ------------------------------------------------------------------------------------


def test_the_queue_lists_proposed_scenarios_with_their_origin_and_difficulty():
    proposed = variant()
    unnamed = variant(variant_of=PracticeScenarioFactory(skill=proposed.skill, difficulty=0.5))
    variant(variant_of=proposed.variant_of, status=Status.APPROVED)  # decided: not queued
    strategy = queued_strategy()

    items = selectors.review_queue()

    assert [(item.kind, item.pk) for item in items] == [
        ("scenario", proposed.pk),
        ("scenario", unnamed.pk),
        ("strategy", strategy.pk),
    ]
    item = items[0]
    assert item.title == ("Hi, I ordered twice last week and one parcel never came. Can you check?")
    assert item.detail == "variant of orders-basic at difficulty 0.70 (was 0.30)"
    assert items[1].detail == (f"variant of #{unnamed.variant_of_id} at difficulty 0.70 (was 0.50)")
    assert (item.skill_key, item.support, item.agents, item.conflict) == (
        "support.orders",
        1,
        [],
        False,
    )
    assert item.selection == f"scenario:{proposed.pk}:1"
    assert item.page == "oversight:scenario-review"
    assert item.impact == 0.5  # one item on a skill of unknown competency
    assert selectors.queue_stats()["size"] == 3


def test_queue_filters_apply_to_scenarios():
    proposed = variant()
    review.claim_item(proposed, actor=reviewer(username="sam"))
    queued_strategy(agent=AgentFactory(name="support-bot", boundaries=["support"]))

    def kinds(**filters):
        return [(item.kind, item.pk) for item in selectors.review_queue(QueueFilters(**filters))]

    assert kinds(kind="scenario") == [("scenario", proposed.pk)]
    assert kinds(skill="support.orders") == [("scenario", proposed.pk)]
    assert kinds(skill="support.refunds") == kinds(kind="strategy") != []
    assert ("scenario", proposed.pk) not in kinds(agent="support-bot")
    assert ("scenario", proposed.pk) not in kinds(conflicts_only=True)
    assert ("scenario", proposed.pk) not in kinds(min_support=2)
    [item] = selectors.review_queue(QueueFilters(kind="scenario"))
    assert item.claim.holder.username == "sam"


# --- The pages ------------------------------------------------------------------------------------


@pytest.fixture
def rita(client):
    user = reviewer(username="rita")
    client.force_login(user)
    return user


EDIT = {
    "edit-revision": "1",
    "edit-prompt": "Hi, one of my two orders never came. Which one?",
    "edit-difficulty": "0.6",
    "edit-expected_actions": '[{"name": "find_user_id_by_email", "arguments": {}}]',
}
POSTS = [
    ("scenario-accept", {"accept-revision": "1"}),
    ("scenario-edit", EDIT),
    ("scenario-edit-preview", {"edit-prompt": "x"}),
    ("scenario-reject", {"reject-revision": "1", "reject-reason_code": "vague"}),
    ("scenario-put-back", {}),
]


@pytest.mark.parametrize(("name", "data"), POSTS)
def test_readers_see_the_scenario_but_only_reviewers_decide(client, name, data):
    proposed = variant()
    assert client.get(url("scenario-review", proposed.pk))["Location"].startswith(
        "/accounts/login/"
    )
    assert client.post(url(name, proposed.pk), data)["Location"].startswith("/accounts/login/")
    for user in (auditor(), operator()):
        client.force_login(user)
        page = client.get(url("scenario-review", proposed.pk))
        assert page.status_code == 200
        assert proposed.prompt in page.content.decode()
        assert b'id="accept-form"' not in page.content
        assert client.post(url(name, proposed.pk), data).status_code == 403
        assert (
            client.post(
                url("review-bulk"), {"items": [f"scenario:{proposed.pk}:1"], "decision": "accept"}
            ).status_code
            == 403
        )
    assert fresh(proposed).status == Status.PROPOSED
    assert not ReviewClaim.objects.exists() and not ReviewDecision.objects.exists()


def test_the_queue_page_lists_the_variant_and_filters_by_kind(client, rita):
    proposed = variant()
    strategy = queued_strategy()

    html = client.get(url("review-queue")).content.decode()
    assert f'value="scenario:{proposed.pk}:1"' in html
    assert f'href="{url("scenario-review", proposed.pk)}"' in html
    assert f"Scenario #{proposed.pk}" in html
    assert "variant of orders-basic at difficulty 0.70 (was 0.30)" in html
    assert re.search(r"<strong>2</strong> items in the queue", html)
    assert '<option value="scenario">scenarios</option>' in html

    only = client.get(url("review-queue"), {"kind": "scenario"}, headers={"HX-Request": "true"})
    assert f"scenario:{proposed.pk}:" in only.content.decode()
    assert f"strategy:{strategy.pk}:" not in only.content.decode()


def test_the_item_page_shows_the_original_beside_the_variant_and_claims_it(client, rita):
    proposed = variant()

    response = client.get(url("scenario-review", proposed.pk))

    html = response.content.decode()
    assert response.status_code == 200
    original = re.search(r'id="original">(.*?)</section>', html, re.S).group(1)
    variant_side = re.search(r'id="variant">(.*?)</section>', html, re.S).group(1)
    assert "Hi, where is my order #W1?" in original and "0.30" in original
    assert "find_user_id_by_email" not in original and "get_order_details" in original
    assert "I ordered twice last week" in variant_side and "0.70" in variant_side
    assert "find_user_id_by_email" in variant_side and "noa@example.com" in variant_side
    assert re.search(r"<strong>0.30</strong> \(original\) → <strong>0.70</strong>", html)
    diff = re.search(r'id="prompt-diff">(.*?)</dd>', html, re.S).group(1)
    assert "<del>" in diff and "<ins>" in diff
    assert "Harder: the order number is missing" in html  # the coach's note
    for form in ("accept-form", "edit-form", "reject-form"):
        assert f'id="{form}"' in html
    assert 'data-key="a"' in html and 'data-key="e"' in html and 'data-key="r"' in html
    assert "reject with a reason" in html  # the keyboard help
    assert "You hold this item" in html
    assert ReviewClaim.objects.get().scenario == proposed
    assert "&quot;find_user_id_by_email&quot;" in html  # the edit form holds the actions as JSON


def test_accept_from_the_page_goes_on_to_the_next_item(client, rita):
    proposed = variant()
    following = variant(variant_of=proposed.variant_of)

    response = client.post(url("scenario-accept", proposed.pk), {"accept-revision": "1"})

    assert response.status_code == 302
    assert response["Location"] == url("scenario-review", following.pk)
    assert fresh(proposed).status == Status.APPROVED
    last = client.post(url("scenario-accept", following.pk), {"accept-revision": "1"}, follow=True)
    assert last.redirect_chain[-1][0] == url("review-queue")
    assert any(f"Scenario #{following.pk} approved" in m for m in page_messages(last))


def test_edit_then_accept_from_the_page(client, rita):
    proposed = variant()

    response = client.post(url("scenario-edit", proposed.pk), EDIT)

    assert response.status_code == 302
    scenario = fresh(proposed)
    assert scenario.status == Status.APPROVED
    assert scenario.prompt == "Hi, one of my two orders never came. Which one?"
    assert scenario.difficulty == 0.6
    assert scenario.expected_actions == [{"name": "find_user_id_by_email", "arguments": {}}]
    assert ReviewDecision.objects.get().action == "edit_accept"


def test_empty_expected_actions_in_the_edit_form_clear_them(client, rita):
    proposed = variant()
    client.post(url("scenario-edit", proposed.pk), {**EDIT, "edit-expected_actions": "  "})
    assert fresh(proposed).expected_actions is None


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('[{"name": "get_order_details", }]', "This is not valid JSON: Expecting property name"),
        ('{"name": "get_order_details"}', "expected_actions must be a list of actions"),
        ('[{"name": "get_order_details", "arguments": "#W1"}]', "arguments must be an object"),
    ],
)
def test_malformed_expected_actions_show_the_error_and_change_nothing(client, rita, text, error):
    proposed = variant()

    response = client.post(
        url("scenario-edit", proposed.pk), {**EDIT, "edit-expected_actions": text}
    )

    assert response.status_code == 400
    html = response.content.decode()
    assert any(error in message for message in page_messages(response))
    assert re.search(r'<span class="error">[^<]*' + re.escape(error), html)
    assert "Hi, one of my two orders never came." in html  # the typed text is kept
    assert '<details id="edit-panel" data-key="e" open>' in html
    scenario = fresh(proposed)
    assert (scenario.status, scenario.revision, scenario.difficulty) == (Status.PROPOSED, 1, 0.7)
    assert scenario.prompt.startswith("Hi, I ordered twice")
    assert not ReviewDecision.objects.exists()


def test_a_stale_edit_is_refused_and_the_typed_text_is_kept(client, rita):
    proposed = variant()
    review.reject_scenario(
        proposed, actor=reviewer(username="sam"), revision=1, reason_code="vague"
    )

    response = client.post(url("scenario-edit", proposed.pk), EDIT)

    assert response.status_code == 409
    assert any("sam rejected it (vague)" in m for m in page_messages(response))
    assert "Your edit was not applied" in response.content.decode()
    assert "Hi, one of my two orders never came." in response.content.decode()
    assert fresh(proposed).difficulty == 0.7


def test_a_second_reviewer_sees_the_holder_and_cannot_decide(client, rita):
    proposed = variant()
    client.get(url("scenario-review", proposed.pk))
    client.force_login(reviewer(username="sam"))

    page = client.get(url("scenario-review", proposed.pk))
    assert "rita is working on this item" in page.content.decode()
    assert b'id="accept-form"' not in page.content
    refused = client.post(url("scenario-accept", proposed.pk), {"accept-revision": "1"})
    assert refused.status_code == 409
    assert fresh(proposed).status == Status.PROPOSED


def test_reject_from_the_page_needs_a_reason(client, rita):
    proposed = variant()
    missing = client.post(url("scenario-reject", proposed.pk), {"reject-revision": "1"})
    assert missing.status_code == 400
    assert fresh(proposed).status == Status.PROPOSED

    done = client.post(
        url("scenario-reject", proposed.pk),
        {
            "reject-revision": "1",
            "reject-reason_code": "unsafe",
            "reject-comment": "asks for a PIN",
        },
    )

    assert done.status_code == 302
    decision = ReviewDecision.objects.get()
    assert (decision.action, decision.reason_code, decision.comment) == (
        "reject",
        "unsafe",
        "asks for a PIN",
    )
    assert fresh(proposed).status == Status.REJECTED
    page = client.get(url("scenario-review", proposed.pk)).content.decode()
    assert "Reject (Unsafe): asks for a PIN" in page and 'id="accept-form"' not in page


def test_put_back_releases_the_claim(client, rita):
    proposed = variant()
    client.get(url("scenario-review", proposed.pk))
    assert ReviewClaim.objects.get().scenario == proposed

    response = client.post(url("scenario-put-back", proposed.pk), follow=True)

    assert not ReviewClaim.objects.exists()
    assert f"Scenario #{proposed.pk} is back in the queue for others." in page_messages(response)


def test_the_edit_preview_diffs_the_prompt_and_names_bad_json(client, rita):
    proposed = variant()

    response = client.post(
        url("scenario-edit-preview", proposed.pk),
        {
            "edit-prompt": "Hi, I ordered twice last week. Can you check?",
            "edit-difficulty": "2",
            "edit-expected_actions": "[{",
        },
        headers={"HX-Request": "true"},
    )

    html = response.content.decode()
    assert "<html" not in html
    assert "<del>" in html and "parcel" in html
    assert "This is not valid JSON" in html
    assert "Difficulty: Ensure this value is less than or equal to 1" in html
    same = client.post(
        url("scenario-edit-preview", proposed.pk),
        {"edit-prompt": proposed.prompt, "edit-difficulty": "0.7", "edit-expected_actions": ""},
    )
    assert "The prompt is the same as the variant's." in same.content.decode()
    assert 'class="error"' not in same.content.decode()


def test_bulk_from_the_queue_page_decides_scenarios(client, rita):
    proposed = variant()
    response = client.post(
        url("review-bulk"),
        {"items": [f"scenario:{proposed.pk}:1"], "decision": "accept"},
        follow=True,
    )
    assert any(
        f"Scenario #{proposed.pk}: Scenario #{proposed.pk} approved" in m
        for m in page_messages(response)
    )
    assert fresh(proposed).status == Status.APPROVED


def test_the_audit_event_of_a_decision_links_to_the_scenario_page(client):
    rita = reviewer(username="rita")
    proposed = variant()
    review.accept_scenario(proposed, actor=rita, revision=proposed.revision)
    [event] = scenario_events(proposed)
    client.force_login(auditor())

    response = client.get(reverse("audit:event", args=[event.sequence]))

    assert response.context["object_url"] == url("scenario-review", proposed.pk)
    assert "note" in event.after  # the same snapshot the practice side writes
