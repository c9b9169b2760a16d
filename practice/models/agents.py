"""Agents and keys."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from taxonomy.models import Skill


class Agent(models.Model):
    name = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    active = models.BooleanField(default=True)
    simulated = models.BooleanField(
        default=False, help_text="Driven by the simulation, not a real deployed agent."
    )
    boundaries = models.ManyToManyField(
        Skill, through="AgentBoundary", related_name="authorized_agents", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} (simulation)" if self.simulated else self.name


class AgentBoundary(models.Model):
    """An agent may learn, practice and pull memory in the subtree rooted at `skill`."""

    agent = models.ForeignKey(Agent, on_delete=models.CASCADE, related_name="boundary_links")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, related_name="boundary_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="boundary_unique_per_agent")
        ]
        verbose_name_plural = "agent boundaries"

    def __str__(self):
        return f"{self.agent.name} → {self.skill.key}"


class AgentKeyQuerySet(models.QuerySet):
    def usable(self, now=None):
        now = now or timezone.now()
        return self.filter(revoked_at__isnull=True, agent__active=True).filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=now)
        )


class AgentKey(models.Model):
    """An agent's API key. Only a SHA-256 of the key is stored; the prefix finds the row."""

    agent = models.ForeignKey(Agent, on_delete=models.PROTECT, related_name="keys")
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    hashed_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = AgentKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.agent.name}: {self.prefix}…"

    @property
    def is_usable(self):
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()
