"""Practice."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from practice.models.agents import Agent
from practice.models.attempts import Attempt
from practice.models.base import choice_check, in_unit_interval
from taxonomy.models import Skill


class ScenarioOrigin(models.TextChoices):
    OPERATOR = "operator", "Written by an operator"
    REPLAY = "replay", "Replay of a failed attempt"
    VARIANT = "variant", "LLM-written variant"


class ScenarioStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed (awaiting review)"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    RETIRED = "retired", "Retired"


class PracticeScenario(models.Model):
    """An exercise in a skill's scenario bank."""

    Origin = ScenarioOrigin

    Status = ScenarioStatus

    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="scenarios")
    key = models.SlugField(
        max_length=200, null=True, blank=True, unique=True, help_text="Stable id for file loads."
    )
    difficulty = models.FloatField()
    prompt = models.TextField()
    expected_actions = models.JSONField(null=True, blank=True)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.OPERATOR)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.APPROVED)
    source_attempt = models.OneToOneField(
        Attempt, null=True, blank=True, on_delete=models.PROTECT, related_name="replay_scenario"
    )
    variant_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="variants"
    )
    note = models.TextField(
        blank=True,
        help_text="For an LLM-written variant: how the coach says it differs from the original "
        "and why it has the requested difficulty.",
    )
    revision = models.PositiveIntegerField(
        default=1, help_text="Raised by every review decision; a decision names the one it saw."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["skill", "difficulty"]
        constraints = [
            models.CheckConstraint(
                condition=in_unit_interval("difficulty"), name="scenario_difficulty_in_0_1"
            ),
            choice_check("origin", ScenarioOrigin, "scenario_origin_known"),
            choice_check("status", ScenarioStatus, "scenario_status_known"),
            models.CheckConstraint(
                condition=~Q(origin="replay") | Q(source_attempt__isnull=False),
                name="scenario_replay_has_attempt",
            ),
            models.CheckConstraint(
                condition=~Q(origin="variant") | Q(variant_of__isnull=False),
                name="scenario_variant_has_original",
            ),
        ]

    def __str__(self):
        return f"{self.skill.key} @ {self.difficulty:.2f}: {self.prompt[:60]}"


class AssignmentStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    CLAIMED = "claimed", "Claimed"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class AssignmentReason(models.TextChoices):
    WEAK = "weak", "Weak skill"
    LEARNING = "learning", "Skill not yet known"
    REVIEW = "review", "Spaced review"
    CONSOLIDATE = "consolidate", "Consolidating a new skill"
    MANUAL = "manual", "Assigned by an operator"


class PracticeAssignment(models.Model):
    """A scenario the scheduler picked for one agent; claimed, then completed by an attempt."""

    Status = AssignmentStatus

    Reason = AssignmentReason

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="assignments")
    scenario = models.ForeignKey(
        PracticeScenario, on_delete=models.PROTECT, related_name="assignments"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    reason = models.CharField(max_length=12, choices=Reason.choices)
    priority = models.FloatField(default=0)
    target_difficulty = models.FloatField(null=True, blank=True)
    predicted_success = models.FloatField(null=True, blank=True)
    scheduled_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    attempt = models.OneToOneField(
        Attempt, null=True, blank=True, on_delete=models.PROTECT, related_name="assignment"
    )

    class Meta:
        ordering = ["-priority", "scheduled_at"]
        constraints = [
            choice_check("status", AssignmentStatus, "assignment_status_known"),
            choice_check("reason", AssignmentReason, "assignment_reason_known"),
            models.CheckConstraint(
                condition=~Q(status="completed") | Q(attempt__isnull=False),
                name="assignment_completed_has_attempt",
            ),
            models.UniqueConstraint(
                fields=["agent", "scenario"],
                condition=Q(status__in=["queued", "claimed"]),
                name="assignment_one_open_per_scenario",
            ),
        ]
        indexes = [models.Index(fields=["agent", "status", "priority"])]

    def __str__(self):
        return f"{self.agent.name}: {self.scenario} ({self.status})"
