"""The review workflow: claims on items, and every decision on strategies and taxonomy proposals.

Each decision is one function and one transaction. It checks that the actor has the reviewer
role, that nobody else holds the item, and that the item is still at the revision the reviewer
saw (otherwise StaleItem says what changed, and nothing is applied). It then makes the change
through the practice and taxonomy services, which audit their own changes, records a
ReviewDecision with an audit event, and publishes a memory release when live memory changed
(accept, edit-and-accept, replace, keep both, retire), so agents see the change on their next
pull and not before.

Sensitive skills need two approvals by two different people. The approvals of a strategy are
those of its current text: 'approve' decisions recorded on its current version, plus the person
who wrote that version by editing or restoring it (an edit is its author's approval). The first
accept records an 'approve' decision and leaves the strategy proposed; an accept by someone who
has not yet approved that text makes it live; an accept by someone who already has is refused.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from oversight.models import DecisionAction, ReviewClaim, ReviewDecision
from oversight.services.audit import append_event
from practice.models import MemoryRelease, Strategy, StrategyVersion
from practice.services.strategies import (
    change_status,
    publish_release,
    revise_strategy,
    strategy_snapshot,
)
from taxonomy import services as taxonomy_services
from taxonomy.models import Skill, TaxonomyProposal

REVIEW_PERMISSION = "oversight.review_items"
OPERATE_PERMISSION = "oversight.operate"
Action = DecisionAction
Reason = ReviewDecision.Reason


def claim_minutes():
    """How long opening an item keeps others from deciding it."""
    return getattr(settings, "ETUDE_REVIEW_CLAIM_MINUTES", 5)


# --- Errors --------------------------------------------------------------------------------------


class ReviewError(Exception):
    """A review step that is not allowed; the message says why and what to do."""


class NotAllowed(ReviewError):
    """The actor's role does not allow the step."""


class StaleItem(ReviewError):
    """The item changed after the reviewer opened it; the message says what changed."""


class ClaimedByOther(ReviewError):
    """Another reviewer holds the item."""

    def __init__(self, claim):
        self.claim = claim
        super().__init__(
            f"{claim.holder.get_username()} is working on this item until "
            f"{timezone.localtime(claim.expires_at):%H:%M}; you can decide it once they put it "
            "back or their claim expires."
        )


class SecondApprovalNeeded(ReviewError):
    """A sensitive skill's strategy needs the approval of someone who has not approved it yet."""


class InvalidDecision(ReviewError):
    """The decision does not fit the item (its status, a missing reason, an unusable edit)."""


@dataclass(frozen=True)
class Outcome:
    """What a decision did: the item as it is now, the decision, the release it published."""

    item: object
    decision: ReviewDecision
    release: MemoryRelease | None
    message: str

    @property
    def live(self):
        return isinstance(self.item, Strategy) and self.item.status == Strategy.Status.LIVE


# --- Claims --------------------------------------------------------------------------------------


def claim_item(item, *, actor, now=None):
    """Hold a strategy or taxonomy proposal for a few minutes while the actor works on it.

    A reviewer holds one item at a time: claiming one puts back any other they held. Renews
    the actor's own claim; takes over an expired one; refuses one another person holds."""
    _require(actor, REVIEW_PERMISSION, "claim items for review")
    now = now or timezone.now()
    with transaction.atomic():
        item = _lock(item)
        claim = ReviewClaim.objects.filter(**_item_field(item)).select_related("holder").first()
        if claim and claim.holder_id != actor.pk and claim.expires_at > now:
            raise ClaimedByOther(claim)
        ReviewClaim.objects.filter(holder=actor).exclude(pk=claim.pk if claim else None).delete()
        expires_at = now + timedelta(minutes=claim_minutes())
        if claim is None:
            claim = ReviewClaim.objects.create(
                holder=actor, claimed_at=now, expires_at=expires_at, **_item_field(item)
            )
        else:
            claim.holder = actor
            claim.claimed_at = now
            claim.expires_at = expires_at
            claim.save(update_fields=["holder", "claimed_at", "expires_at"])
    return claim


def release_claim(item, *, actor, now=None):
    """Put an item back for others; True when the actor held it."""
    _require(actor, REVIEW_PERMISSION, "put items back")
    now = now or timezone.now()
    with transaction.atomic():
        item = _lock(item)
        claim = ReviewClaim.objects.filter(**_item_field(item)).select_related("holder").first()
        if claim is None:
            return False
        if claim.holder_id != actor.pk:
            if claim.expires_at > now:
                raise ClaimedByOther(claim)
            return False
        claim.delete()
    return True


def active_claim(item, now=None):
    """The unexpired claim on an item, or None."""
    now = now or timezone.now()
    return (
        ReviewClaim.objects.filter(expires_at__gt=now, **_item_field(item))
        .select_related("holder")
        .first()
    )


# --- Strategy decisions ---------------------------------------------------------------------------


def accept(strategy, *, actor, revision, comment=""):
    """Accept a proposed strategy: it goes live in a new memory release (for a sensitive skill,
    only once a second person accepts)."""
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        return _approve_or_go_live(
            strategy, actor=actor, revision=revision, action=Action.ACCEPT, comment=comment
        )


def edit_and_accept(strategy, *, actor, revision, when, do, because, comment=""):
    """Save the reviewer's edit as a new version and accept it. For a sensitive skill the edit
    is its author's approval: the strategy stays proposed until someone else accepts it."""
    text = {"when": when.strip(), "do": do.strip(), "because": because.strip()}
    missing = [name for name, value in text.items() if not value]
    if missing:
        raise InvalidDecision(f"The edit leaves {', '.join(missing)} empty.")
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        version = strategy.current_version
        if (version.when_text, version.do_text, version.because_text) == tuple(text.values()):
            raise InvalidDecision("The edit changes nothing; accept the strategy as it is instead.")
        before = strategy_snapshot(strategy)
        strategy = revise_strategy(strategy, actor=actor, **text)
        if strategy.skill.sensitive:
            decision = _record(
                strategy,
                actor=actor,
                action=Action.EDIT_ACCEPT,
                revision=revision,
                before=before,
                after=_approval_snapshot(strategy),
                comment=comment,
            )
            _drop_claim(strategy)
            return Outcome(
                strategy,
                decision,
                None,
                f"Strategy #{strategy.pk} edited as version {strategy.current_version.number}. "
                f"{strategy.skill.key} is sensitive: your edit counts as your approval, and a "
                "second reviewer must accept it before it goes live.",
            )
        return _go_live(
            strategy,
            actor=actor,
            revision=revision,
            action=Action.EDIT_ACCEPT,
            before=before,
            comment=comment,
        )


def reject(strategy, *, actor, revision, reason_code, comment=""):
    """Reject a proposed strategy with a reason code (and a comment when the reason is 'other')."""
    _check_reason(reason_code, comment, required=True)
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        before = strategy_snapshot(strategy)
        strategy = change_status(
            strategy,
            Strategy.Status.REJECTED,
            actor=actor,
            reason=_reason_text(reason_code, comment),
        )
        decision = _record(
            strategy,
            actor=actor,
            action=Action.REJECT,
            revision=revision,
            before=before,
            after=strategy_snapshot(strategy),
            reason_code=reason_code,
            comment=comment,
        )
        _drop_claim(strategy)
    return Outcome(
        strategy,
        decision,
        None,
        f"Strategy #{strategy.pk} rejected ({Reason(reason_code).label.lower()}).",
    )


RESOLUTIONS = {"replace": Action.REPLACE, "keep_both": Action.KEEP_BOTH}


def resolve_conflict(strategy, *, actor, revision, resolution, comment=""):
    """Accept a strategy that contradicts a live one: 'replace' retires the live one, 'keep_both'
    leaves it live beside the new one. Sensitive skills need two approvals, as for accept."""
    if resolution not in RESOLUTIONS:
        raise InvalidDecision(f"Unknown resolution {resolution!r}: replace or keep_both.")
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        contradicted = strategy.conflicts_with
        if contradicted is None:
            raise InvalidDecision(
                f"Strategy #{strategy.pk} contradicts no live strategy; accept or reject it."
            )
        if resolution == "replace" and contradicted.status != Strategy.Status.LIVE:
            raise InvalidDecision(
                f"Strategy #{contradicted.pk}, which this one contradicts, is "
                f"{contradicted.get_status_display().lower()} now, not live; accept this one "
                "instead."
            )
        return _approve_or_go_live(
            strategy,
            actor=actor,
            revision=revision,
            action=RESOLUTIONS[resolution],
            comment=comment,
            replaced=contradicted if resolution == "replace" else None,
        )


def retire(strategy, *, actor, revision, comment, reason_code=""):
    """Take a live strategy out of practice memory, in a new release; the comment says why."""
    _check_reason(reason_code, comment, required=False)
    if not comment.strip():
        raise InvalidDecision("Say why the strategy is retired.")
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.LIVE})
        before = strategy_snapshot(strategy)
        strategy = change_status(
            strategy,
            Strategy.Status.RETIRED,
            actor=actor,
            reason=_reason_text(reason_code, comment),
        )
        decision = _record(
            strategy,
            actor=actor,
            action=Action.RETIRE,
            revision=revision,
            before=before,
            after=strategy_snapshot(strategy),
            reason_code=reason_code,
            comment=comment,
        )
        release = publish_release(actor=actor, note=f"Retired strategy #{strategy.pk}")
        _drop_claim(strategy)
    return Outcome(
        strategy,
        decision,
        release,
        f"Strategy #{strategy.pk} retired; memory release {release.number} no longer has it.",
    )


def restore_version(strategy, version, *, actor, revision, comment=""):
    """Bring back an earlier version's text as a new version (source: restore) and put the
    strategy back to proposed, so the text goes through review like any edit. A live strategy
    leaves practice memory (new release) until its restored text is accepted."""
    if not (_has(actor, REVIEW_PERMISSION) or _has(actor, OPERATE_PERMISSION)):
        raise NotAllowed(
            f"{_name(actor)} may not restore strategy versions: it needs the reviewer or "
            "operator role."
        )
    with transaction.atomic():
        statuses = set(Strategy.Status) - {Strategy.Status.FILTERED}
        strategy = _open_strategy(strategy, actor, revision, statuses, permission=None)
        if version.strategy_id != strategy.pk:
            raise InvalidDecision(
                f"Version {version.pk} is not a version of strategy #{strategy.pk}."
            )
        current = strategy.current_version
        if _text(version) == _text(current):
            raise InvalidDecision(
                f"Version {version.number} says the same as the current version "
                f"{current.number}; there is nothing to restore."
            )
        before = strategy_snapshot(strategy)
        reason = f"Restore version {version.number}" + (f": {comment}" if comment else "")
        was_live = strategy.status == Strategy.Status.LIVE
        if was_live:
            strategy = change_status(strategy, Strategy.Status.RETIRED, actor=actor, reason=reason)
        strategy = revise_strategy(
            strategy,
            when=version.when_text,
            do=version.do_text,
            because=version.because_text,
            actor=actor,
            source=StrategyVersion.Source.RESTORE,
        )
        if strategy.status != Strategy.Status.PROPOSED:
            strategy = change_status(strategy, Strategy.Status.PROPOSED, actor=actor, reason=reason)
        decision = _record(
            strategy,
            actor=actor,
            action=Action.RESTORE,
            revision=revision,
            before=before,
            after={**strategy_snapshot(strategy), "restored_from": version.number},
            comment=comment,
        )
        release = None
        if was_live:
            release = publish_release(
                actor=actor, note=f"Strategy #{strategy.pk} back in review after a restore"
            )
        _drop_claim(strategy)
    return Outcome(
        strategy,
        decision,
        release,
        f"Version {version.number} of strategy #{strategy.pk} restored as version "
        f"{strategy.current_version.number}; it is back in the review queue.",
    )


def approvers(strategy):
    """Ids of the people who approved the strategy's current text (see the module docstring)."""
    version = strategy.current_version
    if version is None:
        return set()
    people = set(
        ReviewDecision.objects.filter(
            strategy=strategy, action=Action.APPROVE, after__version=version.number
        ).values_list("actor_id", flat=True)
    )
    edited = {StrategyVersion.Source.EDIT, StrategyVersion.Source.RESTORE}
    if version.source in edited and version.created_by_id:
        people.add(version.created_by_id)
    return people


# --- Taxonomy proposals --------------------------------------------------------------------------


def accept_proposal(
    proposal, *, actor, revision, key=None, name=None, description=None, comment=""
):
    """Create the proposed skill (origin discovered, the proposal's kind), with the reviewer's
    changes to its key, name and description; the key names its parent."""
    with transaction.atomic():
        proposal = _open_proposal(proposal, actor, revision)
        key = (key or proposal.key).strip()
        name = (name or proposal.name).strip()
        description = proposal.description if description is None else description.strip()
        if "." not in key:
            raise InvalidDecision(f"{key} has no parent: a discovered skill sits below another.")
        before = proposal_snapshot(proposal)
        try:
            skill = taxonomy_services.create_skill(
                key=key,
                name=name,
                description=description,
                kind=proposal.kind,
                origin=Skill.Origin.DISCOVERED,
                actor=actor,
                reason=f"Taxonomy proposal #{proposal.pk} accepted",
            )
        except taxonomy_services.TaxonomyError as error:
            raise InvalidDecision(str(error)) from None
        proposal = _decide_proposal(
            proposal, actor, TaxonomyProposal.Status.ACCEPTED, created_skill=skill, comment=comment
        )
        after = {**proposal_snapshot(proposal), "skill": taxonomy_services.skill_snapshot(skill)}
        decision = _record(
            proposal,
            actor=actor,
            action=Action.ACCEPT,
            revision=revision,
            before=before,
            after=after,
            comment=comment,
        )
        _drop_claim(proposal)
    return Outcome(
        proposal, decision, None, f"Skill {skill.key} created from proposal #{proposal.pk}."
    )


def reject_proposal(proposal, *, actor, revision, reason_code, comment=""):
    """Reject a taxonomy proposal with a reason code (and a comment when the reason is 'other')."""
    _check_reason(reason_code, comment, required=True)
    with transaction.atomic():
        proposal = _open_proposal(proposal, actor, revision)
        before = proposal_snapshot(proposal)
        proposal = _decide_proposal(
            proposal,
            actor,
            TaxonomyProposal.Status.REJECTED,
            reason_code=reason_code,
            comment=comment,
        )
        decision = _record(
            proposal,
            actor=actor,
            action=Action.REJECT,
            revision=revision,
            before=before,
            after=proposal_snapshot(proposal),
            reason_code=reason_code,
            comment=comment,
        )
        _drop_claim(proposal)
    return Outcome(
        proposal,
        decision,
        None,
        f"Proposal #{proposal.pk} ({proposal.key}) rejected ({Reason(reason_code).label.lower()}).",
    )


def proposal_snapshot(proposal):
    """A taxonomy proposal as it appears in decisions and the audit log."""
    return {
        "key": proposal.key,
        "parent": proposal.parent.key,
        "name": proposal.name,
        "kind": proposal.kind,
        "status": proposal.status,
        "revision": proposal.revision,
        "created_skill": proposal.created_skill.key if proposal.created_skill_id else None,
    }


# --- Bulk -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    label: str
    done: bool
    message: str


BULK_DECISIONS = ("accept", "reject")


def bulk_decide(selection, *, actor, decision, reason_code="", comment=""):
    """Accept or reject each selected item through the single-item functions, each in its own
    transaction; a refused item stops none of the others. `selection`: (kind, id, revision)
    with kind 'strategy' or 'proposal'. Returns one BulkResult per item, in order."""
    if decision not in BULK_DECISIONS:
        raise InvalidDecision(f"Unknown bulk decision {decision!r}: accept or reject.")
    if decision == "reject":
        _check_reason(reason_code, comment, required=True)
    results = []
    models = {"strategy": Strategy, "proposal": TaxonomyProposal}
    for kind, pk, revision in selection:
        label = f"{'Strategy' if kind == 'strategy' else 'Proposal'} #{pk}"
        item = models[kind].objects.filter(pk=pk).first() if kind in models else None
        if item is None:
            results.append(BulkResult(label, False, f"{label} does not exist."))
            continue
        try:
            outcome = _decide_one(item, decision, actor, revision, reason_code, comment)
        except ReviewError as error:
            results.append(BulkResult(label, False, str(error)))
        else:
            results.append(BulkResult(label, True, outcome.message))
    return results


def _decide_one(item, decision, actor, revision, reason_code, comment):
    if isinstance(item, Strategy):
        if decision == "accept":
            return accept(item, actor=actor, revision=revision, comment=comment)
        return reject(
            item, actor=actor, revision=revision, reason_code=reason_code, comment=comment
        )
    if decision == "accept":
        return accept_proposal(item, actor=actor, revision=revision, comment=comment)
    return reject_proposal(
        item, actor=actor, revision=revision, reason_code=reason_code, comment=comment
    )


# --- Shared steps --------------------------------------------------------------------------------


def _approve_or_go_live(strategy, *, actor, revision, action, comment, replaced=None):
    """The accept step shared by accept, replace and keep both, with the two-person rule."""
    if strategy.skill.sensitive:
        people = approvers(strategy)
        if actor.pk in people:
            raise SecondApprovalNeeded(
                f"You already approved version {strategy.current_version.number} of strategy "
                f"#{strategy.pk} (an edit or restore counts as its author's approval). "
                f"{strategy.skill.key} is sensitive: another reviewer must accept it."
            )
        if not people:
            decision = _record(
                strategy,
                actor=actor,
                action=Action.APPROVE,
                revision=revision,
                before=strategy_snapshot(strategy),
                after={**_approval_snapshot(strategy, extra=actor), "intended": action.value},
                comment=comment,
            )
            _drop_claim(strategy)
            return Outcome(
                strategy,
                decision,
                None,
                f"First approval of strategy #{strategy.pk} recorded. {strategy.skill.key} is "
                "sensitive: it goes live when a second reviewer accepts it.",
            )
    return _go_live(
        strategy,
        actor=actor,
        revision=revision,
        action=action,
        before=strategy_snapshot(strategy),
        comment=comment,
        replaced=replaced,
    )


def _go_live(strategy, *, actor, revision, action, before, comment, replaced=None):
    if replaced is not None:
        replaced_before = strategy_snapshot(replaced)
        replaced = change_status(
            replaced,
            Strategy.Status.RETIRED,
            actor=actor,
            reason=f"Replaced by strategy #{strategy.pk}",
        )
        _record(
            replaced,
            actor=actor,
            action=Action.RETIRE,
            revision=replaced_before["revision"],
            before=replaced_before,
            after=strategy_snapshot(replaced),
            comment=f"Replaced by strategy #{strategy.pk}" + (f": {comment}" if comment else ""),
        )
        _drop_claim(replaced)
    strategy = change_status(strategy, Strategy.Status.LIVE, actor=actor, reason=comment)
    after = strategy_snapshot(strategy)
    if replaced is not None:
        after["replaced"] = replaced.pk
    decision = _record(
        strategy,
        actor=actor,
        action=action,
        revision=revision,
        before=before,
        after=after,
        comment=comment,
    )
    verb = {
        Action.ACCEPT: "Accepted",
        Action.EDIT_ACCEPT: "Edited and accepted",
        Action.REPLACE: "Accepted in place of",
        Action.KEEP_BOTH: "Accepted beside",
    }[action]
    note = f"{verb} strategy #{strategy.pk}"
    if action in (Action.REPLACE, Action.KEEP_BOTH):
        note = f"{verb} strategy #{strategy.conflicts_with_id}: strategy #{strategy.pk}"
    release = publish_release(actor=actor, note=note)
    _drop_claim(strategy)
    replaced_text = f"; strategy #{replaced.pk} retired" if replaced is not None else ""
    return Outcome(
        strategy,
        decision,
        release,
        f"Strategy #{strategy.pk} is live{replaced_text}; agents get it from memory release "
        f"{release.number}.",
    )


def _open_strategy(strategy, actor, revision, statuses, *, permission=REVIEW_PERMISSION):
    """Lock the strategy and run the checks every decision makes (role, claim, revision,
    status); returns the locked, fresh strategy."""
    if permission:
        _require(actor, permission, "decide strategies")
    strategy = (
        Strategy.objects.select_for_update(of=("self",))
        .select_related("skill", "current_version", "conflicts_with")
        .get(pk=strategy.pk)
    )
    _check_claim(strategy, actor)
    _check_revision(strategy, revision)
    if strategy.status not in statuses:
        raise InvalidDecision(
            f"Strategy #{strategy.pk} is {strategy.get_status_display().lower()}; this decision "
            f"applies to {' or '.join(sorted(Strategy.Status(s).label.lower() for s in statuses))}"
            " strategies."
        )
    return strategy


def _open_proposal(proposal, actor, revision):
    _require(actor, REVIEW_PERMISSION, "decide taxonomy proposals")
    proposal = (
        TaxonomyProposal.objects.select_for_update(of=("self",))
        .select_related("parent")
        .get(pk=proposal.pk)
    )
    _check_claim(proposal, actor)
    _check_revision(proposal, revision)
    if proposal.status != TaxonomyProposal.Status.PROPOSED:
        raise InvalidDecision(
            f"Proposal #{proposal.pk} is already {proposal.get_status_display().lower()}."
        )
    return proposal


def _decide_proposal(proposal, actor, status, *, created_skill=None, reason_code="", comment=""):
    proposal.status = status
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decision_reason = reason_code
    proposal.decision_comment = comment
    proposal.created_skill = created_skill
    proposal.revision += 1
    proposal.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_reason",
            "decision_comment",
            "created_skill",
            "revision",
        ]
    )
    return proposal


def _check_claim(item, actor):
    claim = active_claim(item)
    if claim is not None and claim.holder_id != actor.pk:
        raise ClaimedByOther(claim)


def _check_revision(item, revision):
    try:
        expected = int(revision)
    except (TypeError, ValueError):
        raise InvalidDecision("The decision does not say which revision it was made on.") from None
    if item.revision != expected:
        raise StaleItem(_what_changed(item, expected))


def _what_changed(item, expected):
    """A sentence for StaleItem: who decided what since `expected`, and where the item is now."""
    if isinstance(item, Strategy):
        label = f"Strategy #{item.pk}"
        decisions = ReviewDecision.objects.filter(strategy=item)
        now = f"It is {item.get_status_display().lower()} now, at version {item.current_version.number}."
    else:
        label = f"Proposal #{item.pk} ({item.key})"
        decisions = ReviewDecision.objects.filter(taxonomy_proposal=item)
        now = f"It is {item.get_status_display().lower()} now."
    # Approvals leave the revision as it was, so only other decisions can have made it stale.
    since = (
        decisions.filter(revision__gte=expected)
        .exclude(action=Action.APPROVE)
        .select_related("actor")
        .order_by("created_at", "pk")
    )
    done = [f"{decision.actor.get_username()} {_past_tense(decision)}" for decision in since]
    changed = "; ".join(done) if done else "it was changed outside the review queue"
    return (
        f"{label} changed after you opened it (revision {expected}, now {item.revision}): "
        f"{changed}. {now} Your decision was not applied; check the item as it is now."
    )


def _past_tense(decision):
    reason = f" ({Reason(decision.reason_code).label.lower()})" if decision.reason_code else ""
    restored = (decision.after or {}).get("restored_from")
    return {
        Action.ACCEPT: "accepted it",
        Action.EDIT_ACCEPT: "edited it",
        Action.APPROVE: "approved it",
        Action.REJECT: f"rejected it{reason}",
        Action.REPLACE: "accepted it in place of the live strategy",
        Action.KEEP_BOTH: "accepted it beside the live strategy",
        Action.RETIRE: f"retired it{reason}",
        Action.RESTORE: f"restored version {restored}",
    }.get(decision.action, decision.action)


def _record(item, *, actor, action, revision, before, after, reason_code="", comment=""):
    """The ReviewDecision and its audit event, in the caller's transaction."""
    decision = ReviewDecision.objects.create(
        actor=actor,
        action=action,
        revision=int(revision),
        before=before,
        after=after,
        reason_code=reason_code,
        comment=comment,
        **_item_field(item),
    )
    append_event(
        actor=actor,
        action=f"review.{action}",
        object_type="strategy" if isinstance(item, Strategy) else "taxonomy_proposal",
        object_id=item.pk,
        before=before,
        after=after,
        reason=_reason_text(reason_code, comment),
    )
    return decision


def _approval_snapshot(strategy, extra=None):
    people = approvers(strategy) | ({extra.pk} if extra is not None else set())
    names = get_user_model().objects.filter(pk__in=people).order_by("username")
    return {
        **strategy_snapshot(strategy),
        "approved_by": [user.get_username() for user in names],
    }


def _check_reason(reason_code, comment, *, required):
    if not reason_code:
        if required:
            raise InvalidDecision("Choose a reason code.")
        return
    if reason_code not in Reason.values:
        raise InvalidDecision(f"Unknown reason code {reason_code!r}.")
    if reason_code == Reason.OTHER and not comment.strip():
        raise InvalidDecision("Say in the comment what the other reason is.")


def _reason_text(reason_code, comment):
    return ": ".join(part for part in (reason_code, comment.strip()) if part)


def _drop_claim(item):
    ReviewClaim.objects.filter(**_item_field(item)).delete()


def _lock(item):
    model = type(item)
    return model.objects.select_for_update().get(pk=item.pk)


def _item_field(item):
    if isinstance(item, Strategy):
        return {"strategy": item}
    if isinstance(item, TaxonomyProposal):
        return {"taxonomy_proposal": item}
    raise TypeError(f"Not a review item: {item!r}")


def _text(version):
    return (version.when_text, version.do_text, version.because_text)


def _has(actor, permission):
    return bool(
        getattr(actor, "is_authenticated", False)
        and getattr(actor, "is_active", False)
        and actor.has_perm(permission)
    )


def _require(actor, permission, doing):
    if not _has(actor, permission):
        raise NotAllowed(f"{_name(actor)} may not {doing}: it needs the reviewer role.")


def _name(actor):
    return actor.get_username() if getattr(actor, "is_authenticated", False) else "Nobody"
