"""Claims: opening an item holds it for one reviewer for a few minutes."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from oversight.models import ReviewClaim
from oversight.services.review.common import (
    REVIEW_PERMISSION,
    ClaimedByOther,
    _item_field,
    _lock,
    _require,
    claim_minutes,
)

# --- Claims --------------------------------------------------------------------------------------


def claim_item(item, *, actor, now=None):
    """Hold a strategy, taxonomy proposal or scenario for a few minutes while the actor works on it.

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


def _check_claim(item, actor):
    claim = active_claim(item)
    if claim is not None and claim.holder_id != actor.pk:
        raise ClaimedByOther(claim)


def _drop_claim(item):
    ReviewClaim.objects.filter(**_item_field(item)).delete()
