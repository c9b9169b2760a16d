"""The skill taxonomy: a tree of skills with stable dotted keys, and proposals to grow it."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

KEY_PATTERN = r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$"
key_validator = RegexValidator(
    KEY_PATTERN,
    "A skill key is dot-separated lowercase words (letters, digits, underscores), "
    "each starting with a letter, e.g. support.intent.ambiguity.",
)


class SkillQuerySet(models.QuerySet):
    def active(self):
        return self.filter(active=True)

    def subtree(self, key):
        """The skill with `key` and every skill below it."""
        return self.filter(Q(key=key) | Q(key__startswith=f"{key}."))

    def ancestors_of(self, key):
        parts = key.split(".")
        return self.filter(key__in=[".".join(parts[:n]) for n in range(1, len(parts))])


class Skill(models.Model):
    class Kind(models.TextChoices):
        CATEGORY = "category", "Category"
        SKILL = "skill", "Skill"
        FAILURE_MODE = "failure_mode", "Failure mode"

    class Origin(models.TextChoices):
        DESIGNED = "designed", "Designed by operators"
        DISCOVERED = "discovered", "Discovered by reflection"

    key = models.CharField(max_length=200, unique=True, validators=[key_validator])
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SKILL)
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.DESIGNED)
    sensitive = models.BooleanField(
        default=False, help_text="Strategies for a sensitive skill need two approvals."
    )
    mastery_threshold = models.FloatField(
        default=0.8, help_text="Competency above which the skill counts as mastered (0-1)."
    )
    active = models.BooleanField(default=True)
    depth = models.PositiveSmallIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SkillQuerySet.as_manager()

    class Meta:
        ordering = ["key"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mastery_threshold__gt=0) & Q(mastery_threshold__lt=1),
                name="skill_mastery_threshold_between_0_and_1",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["category", "skill", "failure_mode"]),
                name="skill_kind_known",
            ),
            models.CheckConstraint(
                condition=Q(origin__in=["designed", "discovered"]), name="skill_origin_known"
            ),
            models.CheckConstraint(
                condition=(Q(parent__isnull=True) & Q(depth=0))
                | (Q(parent__isnull=False) & Q(depth__gt=0)),
                name="skill_depth_matches_parent",
            ),
        ]

    def __str__(self):
        return self.key

    def save(self, *args, **kwargs):
        self.depth = self.key.count(".")
        super().save(*args, **kwargs)

    @property
    def leaf_key(self):
        return self.key.rsplit(".", 1)[-1]

    def is_within(self, key):
        """True when this skill is `key` itself or lies below it."""
        return self.key == key or self.key.startswith(f"{key}.")


class TaxonomyProposal(models.Model):
    """A new sub-skill or failure mode proposed by an agent, the coach or a person."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"

    class ProposerType(models.TextChoices):
        AGENT = "agent", "Agent"
        COACH = "coach", "Coach"
        USER = "user", "Person"

    parent = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="proposals")
    key = models.CharField(max_length=200, validators=[key_validator])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(
        max_length=20,
        choices=[(Skill.Kind.SKILL, "Skill"), (Skill.Kind.FAILURE_MODE, "Failure mode")],
        default=Skill.Kind.SKILL,
    )
    rationale = models.TextField()
    # Ids of the attempts that support the proposal; the practice app checks them on the way in
    # (the taxonomy app knows nothing of attempts).
    evidence = models.JSONField(default=list, blank=True)
    proposer_type = models.CharField(max_length=10, choices=ProposerType.choices)
    proposer_name = models.CharField(max_length=200)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="taxonomy_proposals",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    revision = models.PositiveIntegerField(
        default=1, help_text="Raised on every change; a decision on an older revision is refused."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="decided_taxonomy_proposals",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_reason = models.CharField(max_length=20, blank=True)
    decision_comment = models.TextField(blank=True)
    created_skill = models.OneToOneField(
        Skill, null=True, blank=True, on_delete=models.PROTECT, related_name="created_by_proposal"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"],
                condition=Q(status="proposed"),
                name="taxonomy_proposal_one_open_per_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["proposed", "accepted", "rejected"]),
                name="taxonomy_proposal_status_known",
            ),
            models.CheckConstraint(
                condition=Q(status="proposed") | Q(decided_at__isnull=False),
                name="taxonomy_proposal_decided_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(created_skill__isnull=False),
                name="taxonomy_proposal_accepted_has_skill",
            ),
        ]

    def __str__(self):
        return f"{self.key} ({self.get_status_display()})"
