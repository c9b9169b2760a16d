"""The review workflow's services: every transition, the refused ones included."""

from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone

from oversight.models import AuditEvent, ReviewClaim, ReviewDecision
from oversight.services import review, verify_chain
from practice.models import MemoryRelease, Reflection, Strategy, StrategyEvidence, StrategyVersion
from practice.services.strategies import current_release, propose_strategy
from taxonomy.models import Skill, TaxonomyProposal
from taxonomy.services import propose_skill
from tests.factories import (
    AgentFactory,
    AttemptFactory,
    SkillFactory,
    TraceStepFactory,
    UserFactory,
    auditor,
    operator,
    reviewer,
)

pytestmark = pytest.mark.django_db

Action = ReviewDecision.Action


def queued_strategy(
    skill_key="support.refunds",
    *,
    when="the customer asks for a refund of a delivered order",
    do="look the order up with get_order_details before calling refund_order",
    because="refunding an unknown order fails and costs a turn",
    agent=None,
    sensitive=False,
):
    """A proposed strategy backed by one failed attempt and its reflection, as the reflection
    pipeline leaves it: in the review queue."""
    skill = SkillFactory(key=skill_key)
    if sensitive and not skill.sensitive:
        Skill.objects.filter(pk=skill.pk).update(sensitive=True)
        skill.refresh_from_db()
    agent = agent or AgentFactory(name="support-bot", boundaries=[skill_key.split(".")[0]])
    strategy = propose_strategy(skill=skill, when=when, do=do, because=because)
    attempt = AttemptFactory(agent=agent, skill=skill, task_input="Refund order #W1 please")
    for position, (action, ok) in enumerate(
        [("greet", True), ("lookup_user", True), ("refund_order", False), ("apologize", True)],
        start=1,
    ):
        TraceStepFactory(
            attempt=attempt,
            position=position,
            action=action,
            ok=ok,
            expected="order found" if action == "refund_order" else "",
            actual="unknown order" if action == "refund_order" else "",
        )
    reflection = Reflection.objects.create(
        attempt=attempt,
        coach_name="trace-diff",
        coach_version="1",
        status=Reflection.Status.SUCCEEDED,
        fault_type=Reflection.FaultType.WRONG_TOOL,
        decision_points=[
            {
                "position": 3,
                "chosen": "refund_order on an order never looked up",
                "should_have_chosen": "get_order_details first",
                "why_it_mattered": "The refund failed on an unknown order.",
            }
        ],
        causal_analysis="At step 3 the agent refunded an order it had not looked up.",
    )
    StrategyEvidence.objects.create(strategy=strategy, attempt=attempt, reflection=reflection)
    Strategy.objects.filter(pk=strategy.pk).update(support_count=F("support_count") + 1)
    strategy.refresh_from_db()
    return strategy


def open_proposal(key="support.refunds.partial_refund", **fields):
    parent = SkillFactory(key=key.rsplit(".", 1)[0])
    return propose_skill(
        parent=parent,
        key=key,
        name=fields.get("name", "Partial refund"),
        description=fields.get("description", "Refunding part of an order."),
        rationale="Three failed attempts refunded the whole order instead of one item.",
        kind=fields.get("kind", Skill.Kind.FAILURE_MODE),
        evidence=fields.get("evidence", []),
        proposer_type=TaxonomyProposal.ProposerType.COACH,
        proposer_name="trace-diff 1",
    )


def released_strategy_ids(release=None):
    release = release or current_release()
    return set(release.strategy_versions.values_list("strategy_id", flat=True))


def audit_actions(object_type, object_id):
    return list(
        AuditEvent.objects.filter(object_type=object_type, object_id=str(object_id))
        .order_by("sequence")
        .values_list("action", flat=True)
    )


def fresh(item):
    item.refresh_from_db()
    return item


# --- Accept ---------------------------------------------------------------------------------------


def test_accept_makes_the_strategy_live_in_a_new_release_with_decision_and_audit():
    rita = reviewer(username="rita")
    strategy = queued_strategy()

    outcome = review.accept(strategy, actor=rita, revision=strategy.revision, comment="clear")

    strategy = fresh(strategy)
    assert strategy.status == Strategy.Status.LIVE
    assert outcome.live and outcome.release.number == 1
    assert released_strategy_ids() == {strategy.pk}
    decision = ReviewDecision.objects.get(strategy=strategy)
    assert (decision.action, decision.actor, decision.revision) == (Action.ACCEPT, rita, 1)
    assert decision.before["status"] == "proposed" and decision.after["status"] == "live"
    assert decision.comment == "clear"
    assert audit_actions("strategy", strategy.pk) == [
        "strategy.proposed",
        "strategy.live",
        "review.accept",
    ]
    assert audit_actions("memory_release", 1) == ["release.published"]
    assert AuditEvent.objects.get(action="review.accept").actor_user == rita
    assert verify_chain()[1] is None


def test_releases_hold_exactly_the_accepted_strategies():
    rita = reviewer(username="rita")
    first = queued_strategy(when="the customer asks for a refund", do="look the order up first")
    second = queued_strategy(when="the customer is angry", do="acknowledge the delay first")
    rejected = queued_strategy(when="the customer asks twice", do="repeat the last answer")
    waiting = queued_strategy(when="the customer sends a photo", do="ask for the order number")

    review.accept(first, actor=rita, revision=first.revision)
    review.reject(rejected, actor=rita, revision=rejected.revision, reason_code="vague")
    outcome = review.accept(second, actor=rita, revision=second.revision)

    assert MemoryRelease.objects.count() == 2  # one per accept, none for the reject
    assert released_strategy_ids(outcome.release) == {first.pk, second.pk}
    assert fresh(waiting).status == Strategy.Status.PROPOSED


def test_a_stale_revision_is_refused_saying_what_changed_and_nothing_is_applied():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy()
    seen = strategy.revision
    review.reject(strategy, actor=rita, revision=seen, reason_code="vague", comment="too general")

    with pytest.raises(review.StaleItem) as refused:
        review.accept(strategy, actor=sam, revision=seen)

    message = str(refused.value)
    assert "rita rejected it (vague)" in message
    assert f"revision {seen}, now {fresh(strategy).revision}" in message
    assert "It is rejected now" in message
    assert fresh(strategy).status == Strategy.Status.REJECTED
    assert list(ReviewDecision.objects.values_list("actor__username", flat=True)) == ["rita"]
    assert MemoryRelease.objects.count() == 0


def test_a_stale_edit_is_refused_and_the_other_edit_stays():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy()
    seen = strategy.revision
    review.edit_and_accept(
        strategy, actor=rita, revision=seen, when="w by rita", do="d by rita", because="b by rita"
    )

    with pytest.raises(review.StaleItem, match="rita edited it"):
        review.edit_and_accept(
            strategy, actor=sam, revision=seen, when="w by sam", do="d by sam", because="b"
        )

    assert fresh(strategy).current_version.do_text == "d by rita"
    assert strategy.versions.count() == 2


@pytest.mark.parametrize("role", ["none", "auditor", "operator"])
def test_only_reviewers_decide(role):
    actor = {"none": UserFactory, "auditor": auditor, "operator": operator}[role]()
    strategy = queued_strategy()

    with pytest.raises(review.NotAllowed, match="reviewer role"):
        review.accept(strategy, actor=actor, revision=strategy.revision)
    with pytest.raises(review.NotAllowed):
        review.reject(strategy, actor=actor, revision=strategy.revision, reason_code="vague")
    with pytest.raises(review.NotAllowed):
        review.claim_item(strategy, actor=actor)

    assert fresh(strategy).status == Strategy.Status.PROPOSED
    assert not ReviewDecision.objects.exists()
    assert not ReviewClaim.objects.exists()


def test_accepting_a_strategy_that_is_not_proposed_is_refused():
    rita = reviewer()
    strategy = queued_strategy()
    review.accept(strategy, actor=rita, revision=strategy.revision)
    strategy = fresh(strategy)

    with pytest.raises(review.InvalidDecision, match="is live"):
        review.accept(strategy, actor=rita, revision=strategy.revision)


# --- Claims --------------------------------------------------------------------------------------


def test_a_claim_held_by_another_blocks_claiming_and_deciding():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy()
    review.claim_item(strategy, actor=rita)

    with pytest.raises(review.ClaimedByOther, match="rita is working on this item"):
        review.claim_item(strategy, actor=sam)
    with pytest.raises(review.ClaimedByOther):
        review.accept(strategy, actor=sam, revision=strategy.revision)
    with pytest.raises(review.ClaimedByOther):
        review.release_claim(strategy, actor=sam)
    assert fresh(strategy).status == Strategy.Status.PROPOSED

    review.accept(strategy, actor=rita, revision=strategy.revision)
    assert fresh(strategy).status == Strategy.Status.LIVE
    assert not ReviewClaim.objects.exists()  # a decision releases the claim


def test_put_back_lets_another_reviewer_claim_it():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy()
    review.claim_item(strategy, actor=rita)

    assert review.release_claim(strategy, actor=rita) is True
    claim = review.claim_item(strategy, actor=sam)
    assert claim.holder == sam


def test_an_expired_claim_no_longer_blocks():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy()
    claim = review.claim_item(strategy, actor=rita)
    assert claim.expires_at - claim.claimed_at == timedelta(minutes=review.claim_minutes())
    later = claim.expires_at + timedelta(seconds=1)

    assert review.claim_item(strategy, actor=sam, now=later).holder == sam
    ReviewClaim.objects.filter(pk=claim.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=10),
        expires_at=timezone.now() - timedelta(minutes=1),
    )
    review.accept(strategy, actor=rita, revision=strategy.revision)
    assert fresh(strategy).status == Strategy.Status.LIVE


def test_a_reviewer_holds_one_item_at_a_time_and_renews_their_own_claim():
    rita = reviewer(username="rita")
    first = queued_strategy(when="the customer asks for a refund", do="look the order up first")
    second = queued_strategy(when="the customer is angry", do="acknowledge the delay first")
    claim = review.claim_item(first, actor=rita)
    renewed = review.claim_item(first, actor=rita, now=claim.claimed_at + timedelta(minutes=1))
    assert renewed.pk == claim.pk and renewed.expires_at > claim.expires_at

    review.claim_item(second, actor=rita)

    assert list(ReviewClaim.objects.values_list("strategy_id", flat=True)) == [second.pk]


# --- Edit, reject, sensitive skills -----------------------------------------------------------


def test_edit_and_accept_adds_a_version_and_releases_it():
    rita = reviewer(username="rita")
    strategy = queued_strategy()
    original = strategy.current_version

    outcome = review.edit_and_accept(
        strategy,
        actor=rita,
        revision=strategy.revision,
        when=original.when_text,
        do="call get_order_details, then refund_order with the order id it returns",
        because=original.because_text,
    )

    strategy = fresh(strategy)
    version = strategy.current_version
    assert (version.number, version.source, version.created_by) == (2, "edit", rita)
    assert strategy.status == Strategy.Status.LIVE
    assert list(outcome.release.strategy_versions.all()) == [version]
    decision = ReviewDecision.objects.get(strategy=strategy)
    assert decision.action == Action.EDIT_ACCEPT
    assert decision.before["do"] == original.do_text
    assert decision.after["do"].startswith("call get_order_details")
    assert StrategyVersion.objects.get(pk=original.pk).do_text == original.do_text


@pytest.mark.parametrize(
    ("when", "do", "because", "message"),
    [
        (None, None, None, "changes nothing"),
        ("a trigger", "", "a reason", "leaves do empty"),
    ],
)
def test_an_edit_that_changes_nothing_or_empties_a_field_is_refused(when, do, because, message):
    strategy = queued_strategy()
    version = strategy.current_version
    with pytest.raises(review.InvalidDecision, match=message):
        review.edit_and_accept(
            strategy,
            actor=reviewer(),
            revision=strategy.revision,
            when=version.when_text if when is None else when,
            do=version.do_text if do is None else do,
            because=version.because_text if because is None else because,
        )
    assert strategy.versions.count() == 1


def test_reject_needs_a_reason_and_publishes_nothing():
    rita = reviewer()
    strategy = queued_strategy()
    for reason, comment, message in [
        ("", "", "Choose a reason"),
        ("bogus", "", "Unknown reason"),
        ("other", " ", "what the other reason is"),
    ]:
        with pytest.raises(review.InvalidDecision, match=message):
            review.reject(
                strategy,
                actor=rita,
                revision=strategy.revision,
                reason_code=reason,
                comment=comment,
            )

    outcome = review.reject(
        strategy, actor=rita, revision=strategy.revision, reason_code="unsafe", comment="refunds"
    )

    assert fresh(strategy).status == Strategy.Status.REJECTED
    assert outcome.release is None and not MemoryRelease.objects.exists()
    decision = ReviewDecision.objects.get()
    assert (decision.action, decision.reason_code, decision.comment) == (
        "reject",
        "unsafe",
        "refunds",
    )
    assert AuditEvent.objects.get(action="review.reject").reason == "unsafe: refunds"


def test_a_sensitive_strategy_needs_two_different_people():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy("policy.refunds", sensitive=True)

    first = review.accept(strategy, actor=rita, revision=strategy.revision)
    assert first.decision.action == Action.APPROVE and first.release is None
    assert fresh(strategy).status == Strategy.Status.PROPOSED
    assert not MemoryRelease.objects.exists()

    with pytest.raises(review.SecondApprovalNeeded, match="already approved"):
        review.accept(strategy, actor=rita, revision=strategy.revision)
    assert fresh(strategy).status == Strategy.Status.PROPOSED

    second = review.accept(strategy, actor=sam, revision=strategy.revision)
    assert second.decision.action == Action.ACCEPT
    assert fresh(strategy).status == Strategy.Status.LIVE
    assert released_strategy_ids(second.release) == {strategy.pk}
    assert audit_actions("strategy", strategy.pk) == [
        "strategy.proposed",
        "review.approve",
        "strategy.live",
        "review.accept",
    ]


def test_nobody_approves_their_own_edit_alone():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy("policy.refunds", sensitive=True)
    version = strategy.current_version

    edited = review.edit_and_accept(
        strategy,
        actor=rita,
        revision=strategy.revision,
        when=version.when_text,
        do="check the refund policy, then look the order up",
        because=version.because_text,
    )
    strategy = fresh(strategy)
    assert edited.decision.action == Action.EDIT_ACCEPT and edited.release is None
    assert strategy.status == Strategy.Status.PROPOSED
    assert review.approvers(strategy) == {rita.pk}

    with pytest.raises(review.SecondApprovalNeeded, match="counts as its author's approval"):
        review.accept(strategy, actor=rita, revision=strategy.revision)

    review.accept(strategy, actor=sam, revision=strategy.revision)
    assert fresh(strategy).status == Strategy.Status.LIVE


def test_an_approval_of_an_earlier_text_does_not_count_for_an_edit():
    rita, sam, tom = reviewer(username="rita"), reviewer(username="sam"), reviewer(username="tom")
    strategy = queued_strategy("policy.refunds", sensitive=True)
    review.accept(strategy, actor=rita, revision=strategy.revision)  # approves version 1
    version = strategy.current_version
    review.edit_and_accept(
        strategy,
        actor=sam,
        revision=strategy.revision,
        when=version.when_text,
        do="look the order up, then check the policy",
        because=version.because_text,
    )
    strategy = fresh(strategy)
    assert strategy.status == Strategy.Status.PROPOSED
    assert review.approvers(strategy) == {sam.pk}

    review.accept(strategy, actor=tom, revision=strategy.revision)
    assert fresh(strategy).status == Strategy.Status.LIVE


# --- Conflicts, retire, restore ------------------------------------------------------------------


def conflicting_pair():
    rita = reviewer(username="rita")
    live = queued_strategy(when="the customer asks for a refund", do="refund at once")
    review.accept(live, actor=rita, revision=live.revision)
    newer = queued_strategy(when="the customer asks for a refund", do="look the order up first")
    Strategy.objects.filter(pk=newer.pk).update(conflicts_with=live)
    return rita, fresh(live), fresh(newer)


def test_replace_retires_the_live_strategy_and_releases_the_new_one():
    rita, live, newer = conflicting_pair()

    outcome = review.resolve_conflict(
        newer, actor=rita, revision=newer.revision, resolution="replace", comment="safer"
    )

    assert fresh(live).status == Strategy.Status.RETIRED
    assert fresh(newer).status == Strategy.Status.LIVE
    assert released_strategy_ids(outcome.release) == {newer.pk}
    assert outcome.decision.action == Action.REPLACE
    assert outcome.decision.after["replaced"] == live.pk
    retired = ReviewDecision.objects.get(strategy=live, action=Action.RETIRE)
    assert f"Replaced by strategy #{newer.pk}" in retired.comment


def test_keep_both_leaves_the_live_strategy_live():
    rita, live, newer = conflicting_pair()

    outcome = review.resolve_conflict(
        newer, actor=rita, revision=newer.revision, resolution="keep_both"
    )

    assert fresh(live).status == Strategy.Status.LIVE
    assert released_strategy_ids(outcome.release) == {live.pk, newer.pk}
    assert outcome.decision.action == Action.KEEP_BOTH


def test_resolving_without_a_conflict_is_refused():
    strategy = queued_strategy()
    with pytest.raises(review.InvalidDecision, match="contradicts no live strategy"):
        review.resolve_conflict(
            strategy, actor=reviewer(), revision=strategy.revision, resolution="replace"
        )


def test_retire_takes_a_live_strategy_out_of_the_next_release():
    rita = reviewer()
    kept = queued_strategy(when="the customer is angry", do="acknowledge the delay first")
    gone = queued_strategy()
    review.accept(kept, actor=rita, revision=kept.revision)
    review.accept(gone, actor=rita, revision=gone.revision)
    gone = fresh(gone)

    with pytest.raises(review.InvalidDecision, match="why"):
        review.retire(gone, actor=rita, revision=gone.revision, comment="")
    outcome = review.retire(
        gone, actor=rita, revision=gone.revision, comment="harmful feedback", reason_code="wrong"
    )

    assert fresh(gone).status == Strategy.Status.RETIRED
    assert released_strategy_ids(outcome.release) == {kept.pk}
    assert outcome.decision.action == Action.RETIRE and outcome.decision.reason_code == "wrong"


def edited_live_strategy():
    rita = reviewer(username="rita")
    strategy = queued_strategy()
    version = strategy.current_version
    review.edit_and_accept(
        strategy,
        actor=rita,
        revision=strategy.revision,
        when=version.when_text,
        do="refund without looking anything up",
        because=version.because_text,
    )
    return rita, fresh(strategy)


def test_restore_brings_back_an_earlier_text_through_review():
    rita, strategy = edited_live_strategy()
    first = strategy.versions.get(number=1)
    olga = operator(username="olga")

    outcome = review.restore_version(
        strategy, first, actor=olga, revision=strategy.revision, comment="the edit was wrong"
    )

    strategy = fresh(strategy)
    restored = strategy.current_version
    assert (restored.number, restored.source, restored.created_by) == (3, "restore", olga)
    assert restored.do_text == first.do_text
    assert strategy.status == Strategy.Status.PROPOSED
    assert outcome.decision.action == Action.RESTORE
    assert outcome.decision.after["restored_from"] == 1
    assert released_strategy_ids(outcome.release) == set()  # out of memory until accepted

    accepted = review.accept(strategy, actor=rita, revision=strategy.revision)
    assert list(accepted.release.strategy_versions.all()) == [restored]


def test_restore_is_refused_for_auditors_and_for_the_current_text():
    rita, strategy = edited_live_strategy()
    with pytest.raises(review.NotAllowed, match="reviewer or operator"):
        review.restore_version(
            strategy, strategy.versions.get(number=1), actor=auditor(), revision=strategy.revision
        )
    with pytest.raises(review.InvalidDecision, match="nothing to restore"):
        review.restore_version(
            strategy, strategy.current_version, actor=rita, revision=strategy.revision
        )
    assert fresh(strategy).status == Strategy.Status.LIVE


def test_a_restore_counts_as_its_authors_approval_on_a_sensitive_skill():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    strategy = queued_strategy("policy.refunds", sensitive=True)
    version = strategy.current_version
    review.edit_and_accept(
        strategy, actor=rita, revision=strategy.revision, when="w", do="d", because="b"
    )
    strategy = fresh(strategy)

    review.restore_version(strategy, version, actor=sam, revision=strategy.revision)
    strategy = fresh(strategy)

    with pytest.raises(review.SecondApprovalNeeded):
        review.accept(strategy, actor=sam, revision=strategy.revision)
    review.accept(strategy, actor=rita, revision=strategy.revision)
    assert fresh(strategy).status == Strategy.Status.LIVE


# --- Taxonomy proposals ---------------------------------------------------------------------------


def test_accepting_a_proposal_creates_the_discovered_skill():
    rita = reviewer(username="rita")
    proposal = open_proposal()

    outcome = review.accept_proposal(
        proposal,
        actor=rita,
        revision=proposal.revision,
        key="support.refunds.partial",
        name="Partial refunds",
    )

    skill = Skill.objects.get(key="support.refunds.partial")
    assert (skill.origin, skill.kind, skill.name) == (
        "discovered",
        "failure_mode",
        "Partial refunds",
    )
    assert skill.parent.key == "support.refunds"
    proposal = fresh(proposal)
    assert proposal.status == TaxonomyProposal.Status.ACCEPTED
    assert (proposal.created_skill, proposal.decided_by, proposal.revision) == (skill, rita, 2)
    assert outcome.decision.after["skill"]["key"] == "support.refunds.partial"
    assert audit_actions("skill", skill.key) == ["skill.created"]
    assert audit_actions("taxonomy_proposal", proposal.pk)[-1] == "review.accept"
    assert not MemoryRelease.objects.exists()


def test_a_proposal_accept_that_the_taxonomy_refuses_changes_nothing():
    proposal = open_proposal()
    with pytest.raises(review.InvalidDecision, match="does not exist"):
        review.accept_proposal(
            proposal, actor=reviewer(), revision=proposal.revision, key="nowhere.to.be"
        )
    assert fresh(proposal).status == TaxonomyProposal.Status.PROPOSED
    assert not Skill.objects.filter(key="nowhere.to.be").exists()
    assert not ReviewDecision.objects.exists()


def test_rejecting_a_proposal_records_the_reason_and_a_stale_one_is_refused():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    proposal = open_proposal()
    seen = proposal.revision

    review.reject_proposal(
        proposal, actor=rita, revision=seen, reason_code="duplicate", comment="see refunds"
    )

    proposal = fresh(proposal)
    assert proposal.status == TaxonomyProposal.Status.REJECTED
    assert (proposal.decision_reason, proposal.decision_comment) == ("duplicate", "see refunds")
    with pytest.raises(review.StaleItem, match="rita rejected it"):
        review.accept_proposal(proposal, actor=sam, revision=seen)
    assert not Skill.objects.filter(key=proposal.key).exists()


# --- Bulk ------------------------------------------------------------------------------------------


def test_bulk_accept_goes_through_the_single_item_path_and_reports_per_item():
    rita, sam = reviewer(username="rita"), reviewer(username="sam")
    first = queued_strategy(when="the customer asks for a refund", do="look the order up first")
    held = queued_strategy(when="the customer is angry", do="acknowledge the delay first")
    stale = queued_strategy(when="the customer sends a photo", do="ask for the order number")
    proposal = open_proposal()
    review.claim_item(held, actor=sam)

    results = review.bulk_decide(
        [
            ("strategy", first.pk, first.revision),
            ("strategy", held.pk, held.revision),
            ("strategy", stale.pk, stale.revision + 1),
            ("proposal", proposal.pk, proposal.revision),
            ("strategy", 999_999, 1),
        ],
        actor=rita,
        decision="accept",
    )

    assert [result.done for result in results] == [True, False, False, True, False]
    assert "sam is working on this item" in results[1].message
    assert "changed after you opened it" in results[2].message
    assert "does not exist" in results[4].message
    assert fresh(first).status == Strategy.Status.LIVE
    assert fresh(held).status == fresh(stale).status == Strategy.Status.PROPOSED
    assert fresh(proposal).status == TaxonomyProposal.Status.ACCEPTED
    assert released_strategy_ids() == {first.pk}
    assert list(ReviewDecision.objects.values_list("action", flat=True)) == ["accept", "accept"]


def test_bulk_reject_needs_a_reason_before_touching_any_item():
    strategies = [
        queued_strategy(when="the customer asks for a refund", do="look the order up first"),
        queued_strategy(when="the customer is angry", do="acknowledge the delay first"),
    ]
    selection = [("strategy", s.pk, s.revision) for s in strategies]
    with pytest.raises(review.InvalidDecision, match="Choose a reason"):
        review.bulk_decide(selection, actor=reviewer(), decision="reject")
    assert not ReviewDecision.objects.exists()

    results = review.bulk_decide(
        selection, actor=reviewer(), decision="reject", reason_code="vague"
    )
    assert all(result.done for result in results)
    assert {fresh(s).status for s in strategies} == {Strategy.Status.REJECTED}
    assert ReviewDecision.objects.filter(action="reject", reason_code="vague").count() == 2
