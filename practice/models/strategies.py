"""Strategies and memory releases."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from practice.models.agents import Agent
from practice.models.attempts import Attempt
from practice.models.base import ImmutableRecordError, choice_check
from practice.models.reflections import Reflection
from taxonomy.models import Skill


class StrategyStatus(models.TextChoices):
    FILTERED = "filtered", "Filtered by the quality gate"
    PROPOSED = "proposed", "Proposed"
    LIVE = "live", "Live"
    REJECTED = "rejected", "Rejected"
    RETIRED = "retired", "Retired"


class StrategyOrigin(models.TextChoices):
    COACH = "coach", "Coach"
    PERSON = "person", "Written by a person"
    SIMULATION = "simulation", "Simulation"


class Strategy(models.Model):
    """One entry of practice memory. Its text lives in immutable versions."""

    Status = StrategyStatus

    Origin = StrategyOrigin

    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="strategies")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PROPOSED)
    origin = models.CharField(max_length=12, choices=Origin.choices, default=Origin.COACH)
    current_version = models.OneToOneField(
        "StrategyVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="current_of",
    )
    revision = models.PositiveIntegerField(
        default=1, help_text="Raised on every change; a decision on an older revision is refused."
    )
    filtered_reason = models.TextField(blank=True)
    conflicts_with = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="conflicting"
    )
    support_count = models.PositiveIntegerField(default=0)
    use_count = models.PositiveIntegerField(default=0)
    helpful_count = models.PositiveIntegerField(default=0)
    harmful_count = models.PositiveIntegerField(default=0)
    evidence = models.ManyToManyField(
        Attempt, through="StrategyEvidence", related_name="supported_strategies", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "strategies"
        constraints = [
            choice_check("status", StrategyStatus, "strategy_status_known"),
            choice_check("origin", StrategyOrigin, "strategy_origin_known"),
            models.CheckConstraint(
                condition=~Q(status="filtered") | ~Q(filtered_reason=""),
                name="strategy_filtered_has_reason",
            ),
            models.CheckConstraint(
                condition=~Q(conflicts_with=F("id")), name="strategy_no_self_conflict"
            ),
        ]
        indexes = [models.Index(fields=["skill", "status"])]

    def __str__(self):
        version = self.current_version
        return f"#{self.pk} [{self.status}] {version.when_text if version else ''}"[:120]


class VersionSource(models.TextChoices):
    COACH = "coach", "Coach"
    EDIT = "edit", "Reviewer edit"
    RESTORE = "restore", "Restored earlier version"
    PERSON = "person", "Written by a person"


class StrategyVersion(models.Model):
    """The text of a strategy at one moment. Never changed once written; edits add a version."""

    Source = VersionSource

    strategy = models.ForeignKey(Strategy, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    when_text = models.TextField("when")
    do_text = models.TextField("do")
    because_text = models.TextField("because")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.COACH)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["strategy", "number"]
        constraints = [
            models.UniqueConstraint(fields=["strategy", "number"], name="strategy_version_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="strategy_version_from_1"),
            choice_check("source", VersionSource, "strategy_version_source_known"),
        ]

    def __str__(self):
        return f"strategy #{self.strategy_id} v{self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            released = MemoryReleaseEntry.objects.filter(strategy_version_id=self.pk).exists()
            reason = "it is part of a memory release" if released else "versions are immutable"
            raise ImmutableRecordError(
                f"Strategy version {self.pk} cannot be changed: {reason}; "
                "edit the strategy to add a new version instead."
            )
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError(f"Strategy version {self.pk} cannot be deleted.")


class StrategyEvidence(models.Model):
    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="evidence_links")
    attempt = models.ForeignKey(Attempt, on_delete=models.PROTECT, related_name="evidence_links")
    reflection = models.ForeignKey(
        Reflection, null=True, blank=True, on_delete=models.PROTECT, related_name="evidence_links"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["strategy", "attempt"], name="evidence_once_per_attempt"
            )
        ]
        verbose_name_plural = "strategy evidence"

    def __str__(self):
        return f"attempt #{self.attempt_id} supports strategy #{self.strategy_id}"


class StrategyUse(models.Model):
    """An attempt that applied a strategy version; its outcome feeds the counters."""

    attempt = models.ForeignKey(Attempt, on_delete=models.CASCADE, related_name="strategy_uses")
    strategy_version = models.ForeignKey(
        StrategyVersion, on_delete=models.PROTECT, related_name="uses"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["attempt", "strategy_version"], name="strategy_use_once_per_attempt"
            )
        ]

    def __str__(self):
        return f"attempt #{self.attempt_id} used version #{self.strategy_version_id}"


class FeedbackVerdict(models.TextChoices):
    HELPFUL = "helpful", "Helpful"
    HARMFUL = "harmful", "Harmful"


class StrategyFeedback(models.Model):
    Verdict = FeedbackVerdict

    strategy = models.ForeignKey(Strategy, on_delete=models.CASCADE, related_name="feedback")
    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="feedback")
    attempt = models.ForeignKey(
        Attempt, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    verdict = models.CharField(max_length=10, choices=Verdict.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            choice_check("verdict", FeedbackVerdict, "feedback_verdict_known"),
            models.UniqueConstraint(
                fields=["strategy", "attempt"],
                condition=Q(attempt__isnull=False),
                name="feedback_once_per_attempt",
            ),
        ]

    def __str__(self):
        return f"{self.verdict} for strategy #{self.strategy_id}"


class MemoryRelease(models.Model):
    """An immutable, numbered snapshot of the live strategy versions."""

    number = models.PositiveIntegerField(unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    note = models.TextField(blank=True)
    content_hash = models.CharField(
        max_length=64, help_text="SHA-256 over the ids of the versions it contains."
    )
    restored_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="restorations"
    )
    strategy_versions = models.ManyToManyField(
        StrategyVersion, through="MemoryReleaseEntry", related_name="releases"
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.CheckConstraint(condition=Q(number__gte=1), name="release_number_from_1")
        ]

    def __str__(self):
        return f"release {self.number}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise ImmutableRecordError(f"Memory release {self.number} cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRecordError(f"Memory release {self.number} cannot be deleted.")


class MemoryReleaseEntry(models.Model):
    release = models.ForeignKey(MemoryRelease, on_delete=models.PROTECT, related_name="entries")
    strategy_version = models.ForeignKey(
        StrategyVersion, on_delete=models.PROTECT, related_name="release_entries"
    )
    # Denormalized for fast pulls: which skill the entry serves.
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["release", "strategy_version"], name="release_entry_once"
            )
        ]
        indexes = [models.Index(fields=["release", "skill"])]
        verbose_name_plural = "memory release entries"

    def __str__(self):
        return f"release #{self.release_id}: version #{self.strategy_version_id}"


class CurrentRelease(models.Model):
    """The single pointer to the release agents pull; a rollback moves it back."""

    singleton = models.BooleanField(default=True, unique=True, editable=False)
    release = models.ForeignKey(MemoryRelease, on_delete=models.PROTECT, related_name="+")
    changed_at = models.DateTimeField(auto_now=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="current_release_singleton")
        ]

    def __str__(self):
        return f"current: release {self.release.number}"
