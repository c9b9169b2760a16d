"""Shared by the review decisions: roles, errors, the outcome, recording a decision."""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from oversight.models import DecisionAction, ReviewDecision
from oversight.services.audit import append_event
from practice.models import MemoryRelease, PracticeScenario, Strategy
from taxonomy.models import TaxonomyProposal

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


# --- Shared steps --------------------------------------------------------------------------------


def _check_revision(item, revision):
    try:
        expected = int(revision)
    except (TypeError, ValueError):
        raise InvalidDecision("The decision does not say which revision it was made on.") from None
    if item.revision != expected:
        raise StaleItem(_what_changed(item, expected))


def _what_changed(item, expected):
    """A sentence for StaleItem: who decided what since `expected`, and where the item is now."""
    decisions = ReviewDecision.objects.filter(**_item_field(item))
    if isinstance(item, Strategy):
        label = f"Strategy #{item.pk}"
        now = f"It is {item.get_status_display().lower()} now, at version {item.current_version.number}."
    elif isinstance(item, PracticeScenario):
        label = f"Scenario #{item.pk}"
        now = f"It is {item.status} now."
    else:
        label = f"Proposal #{item.pk} ({item.key})"
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
        object_type=_object_type(item),
        object_id=item.pk,
        before=before,
        after=after,
        reason=_reason_text(reason_code, comment),
    )
    return decision


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


def _lock(item):
    model = type(item)
    return model.objects.select_for_update().get(pk=item.pk)


def _item_field(item):
    """The ReviewDecision or ReviewClaim field that names the item, with the item."""
    return {_object_type(item): item}


def _object_type(item):
    """The item's kind as the decision and claim fields and the audit log name it."""
    if isinstance(item, Strategy):
        return "strategy"
    if isinstance(item, TaxonomyProposal):
        return "taxonomy_proposal"
    if isinstance(item, PracticeScenario):
        return "scenario"
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
