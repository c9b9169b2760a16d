"""Review decisions and the append-only, hash-chained audit log."""

from functools import reduce
from operator import or_

from django.conf import settings
from django.db import models
from django.db.models import Q

from practice.models import Agent, ImmutableRecordError, PracticeScenario, Strategy
from taxonomy.models import TaxonomyProposal

# What a review decision or claim is about: exactly one of these is set.
REVIEW_ITEM_FIELDS = ("strategy", "taxonomy_proposal", "scenario")


def exactly_one_item():
    """The condition that exactly one of REVIEW_ITEM_FIELDS is set."""
    return reduce(
        or_,
        (
            Q(**{f"{name}__isnull": name != chosen for name in REVIEW_ITEM_FIELDS})
            for chosen in REVIEW_ITEM_FIELDS
        ),
    )


def item_label(record):
    """'strategy #3', 'taxonomy proposal #4' or 'scenario #5': what a decision or claim is on."""
    for name in REVIEW_ITEM_FIELDS:
        pk = getattr(record, f"{name}_id")
        if pk is not None:
            return f"{name.replace('_', ' ')} #{pk}"
    return "no item"


class DecisionAction(models.TextChoices):
    ACCEPT = "accept", "Accept"
    EDIT_ACCEPT = "edit_accept", "Edit then accept"
    APPROVE = "approve", "First approval (sensitive skill)"
    REJECT = "reject", "Reject"
    REPLACE = "replace", "Replace the live strategy"
    KEEP_BOTH = "keep_both", "Keep both"
    RETIRE = "retire", "Retire"
    RESTORE = "restore", "Restore an earlier version"


class ReviewDecision(models.Model):
    Action = DecisionAction

    class Reason(models.TextChoices):
        VAGUE = "vague", "Vague"
        WRONG = "wrong", "Wrong"
        DUPLICATE = "duplicate", "Duplicate"
        UNSAFE = "unsafe", "Unsafe"
        OUT_OF_SCOPE = "out_of_scope", "Out of scope"
        OTHER = "other", "Other"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="review_decisions"
    )
    strategy = models.ForeignKey(
        Strategy, null=True, blank=True, on_delete=models.PROTECT, related_name="decisions"
    )
    taxonomy_proposal = models.ForeignKey(
        TaxonomyProposal,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    scenario = models.ForeignKey(
        PracticeScenario,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decisions",
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    reason_code = models.CharField(max_length=12, choices=Reason.choices, blank=True)
    comment = models.TextField(blank=True)
    revision = models.PositiveIntegerField(
        help_text="The item's revision the decision was made on."
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("review_items", "Can decide strategies, taxonomy proposals and scenario variants"),
            ("operate", "Can manage the taxonomy, boundaries, keys, releases and rollbacks"),
        ]
        constraints = [
            models.CheckConstraint(condition=exactly_one_item(), name="decision_exactly_one_item"),
            models.CheckConstraint(
                condition=Q(action__in=[choice.value for choice in DecisionAction]),
                name="decision_action_known",
            ),
            models.CheckConstraint(
                condition=~Q(action="reject") | ~Q(reason_code=""),
                name="decision_reject_has_reason",
            ),
        ]

    def __str__(self):
        return f"{self.actor} {self.get_action_display().lower()} {item_label(self)}"


class AuditEvent(models.Model):
    """One change to what agents may use or how they are governed. Never updated or deleted."""

    class ActorType(models.TextChoices):
        USER = "user", "Person"
        AGENT = "agent", "Agent"
        SYSTEM = "system", "System"

    sequence = models.PositiveBigIntegerField(unique=True)
    created_at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    actor_agent = models.ForeignKey(
        Agent, null=True, blank=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    object_type = models.CharField(max_length=100, db_index=True)
    object_id = models.CharField(max_length=100, db_index=True)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    reason = models.TextField(blank=True)
    previous_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["sequence"]
        permissions = [("export_audit", "Can export and verify the audit log")]
        constraints = [
            models.CheckConstraint(condition=Q(sequence__gte=1), name="audit_sequence_from_1"),
            models.CheckConstraint(
                condition=Q(actor_type__in=["user", "agent", "system"]),
                name="audit_actor_type_known",
            ),
        ]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return (
            f"#{self.sequence} {self.actor_label} {self.action} {self.object_type}:{self.object_id}"
        )

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableRecordError("Audit events are append-only and cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError("Audit events are append-only and cannot be deleted.")


class ReviewClaim(models.Model):
    """A reviewer working an item: others may read it but not decide it until `expires_at`."""

    strategy = models.OneToOneField(
        Strategy, null=True, blank=True, on_delete=models.CASCADE, related_name="review_claim"
    )
    taxonomy_proposal = models.OneToOneField(
        TaxonomyProposal,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_claim",
    )
    scenario = models.OneToOneField(
        PracticeScenario,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="review_claim",
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="review_claims"
    )
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-claimed_at"]
        constraints = [
            models.CheckConstraint(condition=exactly_one_item(), name="claim_exactly_one_item"),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("claimed_at")), name="claim_expires_later"
            ),
        ]

    def __str__(self):
        return f"{self.holder} holds {item_label(self)} until {self.expires_at:%H:%M}"
