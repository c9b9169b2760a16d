"""Reflections."""

from django.db import models
from django.db.models import Q

from practice.models.attempts import Attempt
from practice.models.base import choice_check


class ReflectionStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


class FaultAuthor(models.TextChoices):
    NONE = "none", "No fault"
    AGENT = "agent", "Agent"
    USER = "user", "User"
    ENVIRONMENT = "environment", "Environment"


class FaultType(models.TextChoices):
    NONE = "none", "None"
    WRONG_TOOL = "wrong_tool", "Wrong tool called"
    WRONG_ARGUMENT = "wrong_argument", "Wrong argument"
    MISSING_ACTION = "missing_action", "Required action missing"
    UNREQUESTED_ACTION = "unrequested_action", "Unrequested action taken"
    PARTIAL_GOAL = "partial_goal", "Goal partly completed"
    OTHER = "other", "Other"


class Reflection(models.Model):
    Status = ReflectionStatus

    FaultAuthor = FaultAuthor

    FaultType = FaultType

    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="reflections")
    coach_name = models.CharField(max_length=100)
    coach_version = models.CharField(max_length=100)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    performance_trace = models.JSONField(default=list, blank=True)
    decision_points = models.JSONField(default=list, blank=True)
    fault_author = models.CharField(
        max_length=12, choices=FaultAuthor.choices, default=FaultAuthor.NONE
    )
    fault_type = models.CharField(max_length=20, choices=FaultType.choices, default=FaultType.NONE)
    causal_analysis = models.TextField(blank=True)
    failure_mode = models.CharField(
        max_length=200, blank=True, help_text="Short label of the failure found, for discovery."
    )
    model = models.CharField(max_length=200, blank=True)
    prompt_version = models.CharField(max_length=50, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    raw_output = models.TextField(blank=True)
    error = models.TextField(blank=True)
    tries = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "coach_name", "coach_version"],
                name="reflection_one_per_attempt_and_coach",
            ),
            choice_check("status", ReflectionStatus, "reflection_status_known"),
            choice_check("fault_author", FaultAuthor, "reflection_fault_author_known"),
            choice_check("fault_type", FaultType, "reflection_fault_type_known"),
            models.CheckConstraint(
                condition=~Q(status="failed") | ~Q(error=""),
                name="reflection_failed_has_error",
            ),
        ]

    def __str__(self):
        return f"reflection on attempt #{self.attempt_id} by {self.coach_name} {self.coach_version}"
