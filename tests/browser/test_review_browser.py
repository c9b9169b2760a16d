"""A reviewer clears a small queue in Debian's Chromium, partly with the keyboard; the agent
API's memory pull then returns exactly the strategies accepted, in a new release.

The Chromium page, signing in and the screenshot folder are fixtures of this folder's conftest."""

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from practice.services.agents import issue_key
from practice.services.strategies import current_release, publish_release
from tests.factories import AgentFactory, reviewer
from tests.oversight.test_review_services import queued_strategy

pytestmark = pytest.mark.browser


def pull_memory(base_url, key, skill):
    request = urllib.request.Request(
        f"{base_url}/api/v1/memory/?skill={skill}",
        headers={"Authorization": f"Bearer {key}", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_reviewer_clears_the_queue_and_agents_pull_exactly_the_accepted(
    live_server, browser_page, sign_in, artifacts
):
    page = browser_page
    reviewer(username="rita")
    agent = AgentFactory(name="support-bot", boundaries=["support"])
    accepted = queued_strategy(
        agent=agent,
        when="the customer asks for a refund of a delivered order",
        do="look the order up with get_order_details before calling refund_order",
    )
    edited = queued_strategy(
        agent=agent,
        when="the customer says the parcel never arrived",
        do="open a carrier trace with track_parcel",
        because="a lost parcel is refunded only after the carrier confirms it",
    )
    rejected = queued_strategy(agent=agent, when="the customer is upset", do="be careful")
    before = publish_release(note="before the review")
    key = issue_key(agent, label="browser test").secret
    assert pull_memory(live_server.url, key, "support.refunds")["strategies"] == []

    sign_in(page, live_server.url, "rita")

    # The queue: three items, its size always in view.
    expect(page.locator("#queue-stats")).to_contain_text("3 items in the queue")
    expect(page.locator("[data-queue-row]")).to_have_count(3)
    page.screenshot(path=str(artifacts / "review-queue.png"), full_page=True)

    # Keyboard: j selects the first row, Enter opens it, ? shows the keys, a accepts.
    page.keyboard.press("j")
    expect(page.locator("[data-queue-row]").first).to_have_class(re.compile("cursor"))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/review/strategy/{accepted.pk}/"))
    expect(page.locator(".trace li.decision-point")).to_contain_text("refund_order")
    expect(page.locator(".claim")).to_contain_text("You hold this item")
    page.screenshot(path=str(artifacts / "review-item.png"), full_page=True)
    page.keyboard.press("?")
    expect(page.locator("#key-help")).to_be_visible()
    expect(page.locator("#key-help")).to_contain_text("reject with a reason")
    page.keyboard.press("Escape")
    expect(page.locator("#key-help")).to_be_hidden()
    with page.expect_navigation():
        page.keyboard.press("a")

    # On to the next item: edit, see the diff rendered by the server, then accept.
    expect(page).to_have_url(re.compile(rf"/review/strategy/{edited.pk}/"))
    expect(page.locator(".messages")).to_contain_text(f"Strategy #{accepted.pk} is live")
    page.keyboard.press("e")
    expect(page.locator("#id_edit-when")).to_be_focused()
    page.fill("#id_edit-do", "open a carrier trace with track_parcel and wait for its answer")
    expect(page.locator("#edit-preview ins")).to_contain_text("and")
    page.screenshot(path=str(artifacts / "review-edit-preview.png"), full_page=True)
    with page.expect_navigation():
        page.click("#edit-form button[type=submit]")

    # The last item: reject with a reason, sent with Ctrl+Enter from the comment.
    expect(page).to_have_url(re.compile(rf"/review/strategy/{rejected.pk}/"))
    page.keyboard.press("r")
    expect(page.locator("#id_reject-reason_code")).to_be_focused()
    page.select_option("#id_reject-reason_code", "vague")
    page.fill("#id_reject-comment", "says nothing an agent can act on")
    with page.expect_navigation():
        page.press("#id_reject-comment", "Control+Enter")
    expect(page.locator(".empty")).to_contain_text("Nothing waits for review")
    expect(page.locator(".messages")).to_contain_text(f"Strategy #{rejected.pk} rejected (vague)")

    # Agents pull exactly the accepted strategies, from a new release.
    memory = pull_memory(live_server.url, key, "support.refunds")
    release = current_release()
    assert memory["release"] == release.number > before.number
    pulled = {item["id"]: item for item in memory["strategies"]}
    assert set(pulled) == {accepted.pk, edited.pk}
    assert (
        pulled[edited.pk]["do"] == "open a carrier trace with track_parcel and wait for its answer"
    )
    assert pulled[edited.pk]["version"] == 2
    assert (artifacts / "review-queue.png").stat().st_size > 0
    assert (artifacts / "review-item.png").stat().st_size > 0


def test_filters_narrow_the_queue_in_place_and_bulk_accept_uses_the_selection(
    live_server, browser_page, sign_in
):
    page = browser_page
    reviewer(username="rita")
    refunds = queued_strategy("support.refunds")
    policy = queued_strategy("policy.refunds", when="the refund exceeds 500", do="escalate it")
    sign_in(page, live_server.url, "rita")
    expect(page.locator("[data-queue-row]")).to_have_count(2)

    page.keyboard.press("/")
    expect(page.locator("[data-filter-skill]")).to_be_focused()
    page.keyboard.type("policy")
    with page.expect_response(re.compile(r"/review/\?.*skill=policy")) as answer:
        page.keyboard.press("Enter")
    assert answer.value.request.headers.get("hx-request") == "true"
    expect(page.locator("[data-queue-row]")).to_have_count(1)
    expect(page).to_have_url(re.compile(r"skill=policy"))
    expect(page.locator("#queue-stats")).to_contain_text("2 items in the queue")

    page.keyboard.press("Escape")  # leaves the filter field
    page.keyboard.press("j")
    page.keyboard.press("x")
    expect(page.locator(f'input[value^="strategy:{policy.pk}:"]')).to_be_checked()
    with page.expect_navigation():
        page.click("button[value=accept]")

    expect(page.locator(".messages")).to_contain_text(f"Strategy #{policy.pk} is live")
    policy.refresh_from_db(), refunds.refresh_from_db()
    assert (policy.status, refunds.status) == ("live", "proposed")
    expect(page).to_have_url(re.compile(r"/review/\?skill=policy(&|$)"))  # the filters stay

    with page.expect_response(re.compile(r"kind=proposal")):
        page.select_option("#id_kind", "proposal")  # a choice filters at once
    expect(page.locator(".empty")).to_contain_text("Nothing waits for review with these filters")
