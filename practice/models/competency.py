"""Competency."""

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from practice.models.agents import Agent
from practice.models.attempts import Attempt
from practice.models.base import in_unit_interval
from taxonomy.models import Skill


class CompetencyEstimate(models.Model):
    """The latest competency of an agent on a skill, with its uncertainty (both on 0-1)."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="competencies")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="competencies")
    estimate = models.FloatField(default=0.5)
    uncertainty = models.FloatField(default=0.5)
    model_state = models.JSONField(
        default=dict, blank=True, help_text="The estimator's own parameters."
    )
    attempts = models.PositiveIntegerField(default=0)
    successes = models.PositiveIntegerField(default=0)
    rolled_up = models.BooleanField(
        default=False, help_text="Computed from child skills rather than from attempts."
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_practiced_at = models.DateTimeField(null=True, blank=True)
    last_failed_at = models.DateTimeField(null=True, blank=True)
    review_state = models.JSONField(default=dict, blank=True)
    next_review_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="competency_once_per_pair"),
            models.CheckConstraint(
                condition=in_unit_interval("estimate"), name="competency_estimate_in_0_1"
            ),
            models.CheckConstraint(
                condition=Q(uncertainty__gte=0), name="competency_uncertainty_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(successes__lte=F("attempts")), name="competency_successes_le_attempts"
            ),
        ]

    def __str__(self):
        return f"{self.agent.name} on {self.skill.key}: {self.estimate:.2f}±{self.uncertainty:.2f}"


class CompetencySnapshot(models.Model):
    """One point of an agent's learning curve on a skill."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="competency_history")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")
    estimate = models.FloatField()
    uncertainty = models.FloatField()
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["recorded_at"]
        constraints = [
            models.CheckConstraint(
                condition=in_unit_interval("estimate"), name="snapshot_estimate_in_0_1"
            ),
            # One point per attempt and skill: a redelivered update task adds nothing.
            models.UniqueConstraint(
                fields=["attempt", "skill"],
                condition=Q(attempt__isnull=False),
                name="snapshot_once_per_attempt_and_skill",
            ),
        ]
        indexes = [models.Index(fields=["agent", "skill", "recorded_at"])]

    def __str__(self):
        return f"{self.agent_id}/{self.skill_id} at {self.recorded_at:%Y-%m-%d %H:%M}: {self.estimate:.2f}"
