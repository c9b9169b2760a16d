"""Attempts and traces."""

from django.db import models
from django.db.models import Q
from django.utils import timezone

from practice.models.agents import Agent
from practice.models.base import choice_check, in_unit_interval
from taxonomy.models import Skill


class AttemptSource(models.TextChoices):
    LIVE = "live", "Live task"
    PRACTICE = "practice", "Practice"


class TraceFormat(models.TextChoices):
    STEPS = "steps", "Steps"
    OPENAI_CHAT = "openai-chat", "OpenAI chat messages"


class Attempt(models.Model):
    Source = AttemptSource

    TraceFormat = TraceFormat

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="attempts")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="attempts")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.LIVE)
    scenario = models.ForeignKey(
        "PracticeScenario",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="attempts",
    )
    # NULL, not "", for "no id": the per-agent uniqueness only covers real ids.
    external_id = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    success = models.BooleanField()
    score = models.FloatField()
    difficulty = models.FloatField(null=True, blank=True)
    task_input = models.TextField(blank=True, help_text="The task as the agent received it.")
    expected_actions = models.JSONField(null=True, blank=True)
    trace_format = models.CharField(max_length=20, choices=TraceFormat.choices)
    trace_messages = models.JSONField(
        null=True, blank=True, help_text="The original chat messages of an openai-chat trace."
    )
    out_of_bounds = models.BooleanField(
        default=False, help_text="Outside the agent's boundaries: stored, never learned from."
    )
    used_strategies = models.ManyToManyField(
        "StrategyVersion", through="StrategyUse", related_name="attempts_using", blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=in_unit_interval("score"), name="attempt_score_between_0_and_1"
            ),
            models.CheckConstraint(
                condition=Q(difficulty__isnull=True) | in_unit_interval("difficulty"),
                name="attempt_difficulty_between_0_and_1",
            ),
            choice_check("source", AttemptSource, "attempt_source_known"),
            choice_check("trace_format", TraceFormat, "attempt_trace_format_known"),
            models.UniqueConstraint(
                fields=["agent", "external_id"],
                condition=Q(external_id__isnull=False),
                name="attempt_external_id_unique_per_agent",
            ),
        ]
        indexes = [models.Index(fields=["agent", "skill", "created_at"])]

    def __str__(self):
        outcome = "success" if self.success else "failure"
        return f"#{self.pk} {self.agent.name} on {self.skill.key}: {outcome}"


class TraceStep(models.Model):
    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField()
    action = models.TextField(blank=True, help_text="What the agent did: a tool name or a move.")
    arguments = models.JSONField(null=True, blank=True)
    expected = models.TextField(blank=True)
    actual = models.TextField(blank=True)
    ok = models.BooleanField(null=True, blank=True)
    note = models.TextField(blank=True)
    raw_message = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["attempt", "position"]
        constraints = [
            models.UniqueConstraint(fields=["attempt", "position"], name="trace_step_position")
        ]

    def __str__(self):
        return f"step {self.position}: {self.action}"
