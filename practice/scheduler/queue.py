"""Queueing the planned practice as assignments, within a daily budget per agent.

The budget (setting ``ETUDE_PRACTICE_BUDGET``, default 5) counts the scheduler's assignments
(reasons weak and review) scheduled for the agent since the start of the current UTC day,
whatever became of them; an operator's manual assignments come on top. Running the scheduler
again the same day only fills what is left, so it can run as often as one likes.

When an LLM coach is configured and a pick's scenario lies outside the target band (the bank
has nothing at the difficulty the agent needs), the run asks the coach, once it has committed,
for a variant of that scenario at the pick's target difficulty: one per skill, and none for a
skill whose proposed variant already waits for review (practice.services.scenarios).
"""

from dataclasses import dataclass, field
from datetime import UTC, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from practice.models import Agent, AssignmentReason, AssignmentStatus, PracticeAssignment
from practice.scheduler.planning import TARGET_BAND, plan_practice
from practice.services.errors import PracticeError
from practice.services.scenarios import request_variants_for_bank_gaps

DEFAULT_BUDGET = 5
SCHEDULER_REASONS = (
    AssignmentReason.WEAK,
    AssignmentReason.LEARNING,
    AssignmentReason.REVIEW,
    AssignmentReason.CONSOLIDATE,
)


@dataclass
class AgentSchedule:
    """What one run queued for an agent, and how much of today's budget was already used."""

    agent: Agent
    budget: int
    used_before: int
    assignments: list = field(default_factory=list)
    picks: list = field(default_factory=list)


def daily_budget():
    """Practice items per agent per day, from the settings."""
    return max(int(getattr(settings, "ETUDE_PRACTICE_BUDGET", DEFAULT_BUDGET)), 0)


def schedule_practice(agent=None, *, now=None, progress=None, request_variants=True):
    """Queue practice for one agent or every active agent, up to today's budget; one transaction
    per agent. Returns an AgentSchedule per agent (``progress`` is called with each). With
    ``request_variants`` (and an LLM coach), the bank's gaps are sent to the coach."""
    now = now or timezone.now()
    if agent is not None and not agent.active:
        raise PracticeError(f"The agent {agent.name} is deactivated; it gets no practice.")
    agents = [agent] if agent is not None else list(Agent.objects.filter(active=True))
    schedules = []
    for each in agents:
        schedule = _schedule_agent(each, now, daily_budget())
        schedules.append(schedule)
        if progress:
            progress(schedule)
    gaps = [gap for schedule in schedules for gap in bank_gaps(schedule.picks)]
    if gaps and request_variants:
        # Robust: a broker that cannot take the request must not fail the scheduling.
        transaction.on_commit(partial(request_variants_for_bank_gaps, gaps), robust=True)
    return schedules


def bank_gaps(picks):
    """(scenario, target difficulty) of each pick whose scenario lies outside the target band."""
    low, high = TARGET_BAND
    return [
        (pick.scenario, pick.target_difficulty)
        for pick in picks
        if not low <= pick.predicted_success <= high
    ]


def _schedule_agent(agent, now, budget):
    day_start = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    with transaction.atomic():
        # Two runs for the same agent wait for each other, so the budget cannot be filled twice.
        Agent.objects.select_for_update().filter(pk=agent.pk).first()
        used = PracticeAssignment.objects.filter(
            agent=agent,
            reason__in=SCHEDULER_REASONS,
            scheduled_at__gte=day_start,
            scheduled_at__lt=day_start + timedelta(days=1),
        ).count()
        picks = plan_practice(agent, now=now, budget=budget - used)
        assignments = PracticeAssignment.objects.bulk_create(
            PracticeAssignment(
                agent=agent,
                scenario=pick.scenario,
                status=AssignmentStatus.QUEUED,
                reason=pick.reason,
                priority=pick.priority,
                target_difficulty=pick.target_difficulty,
                predicted_success=pick.predicted_success,
                scheduled_at=now,
            )
            for pick in picks
        )
    return AgentSchedule(
        agent=agent, budget=budget, used_before=used, assignments=assignments, picks=picks
    )
