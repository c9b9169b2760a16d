"""Reads for one agent on one skill (the drill-down): its learning curve, the strategies that
reached the skill and when they went live, its success rate before and after the first of
them, its recent attempts and its scheduled practice. A parent skill covers its subtree."""

from dataclasses import dataclass, field

from django.db.models import (
    Count,
    DateTimeField,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    OuterRef,
    Q,
    Subquery,
    Value,
)

from oversight.dashboards import stats
from oversight.dashboards.selectors import OPEN_ASSIGNMENTS
from oversight.models import AuditEvent
from practice.models import (
    Agent,
    Attempt,
    CompetencyEstimate,
    CompetencySnapshot,
    MemoryReleaseEntry,
    PracticeAssignment,
    Reflection,
    Strategy,
    StrategyFeedback,
    StrategyUse,
)
from taxonomy.models import Skill

# The learning curve shows at most this many of the latest points, so a drill-down stays fast
# however long the agent has practiced.
CURVE_POINTS = 1000
RECENT_ATTEMPTS_SHOWN = 20
SCHEDULED_SHOWN = 20
# Strategies that reached agents: live now, or live once and retired since.
WENT_LIVE_STATUSES = (Strategy.Status.LIVE, Strategy.Status.RETIRED)
LIVE_ACTION = "strategy.live"


@dataclass
class StrategyLine:
    """A strategy that reaches the skill's memory pulls, and what it did for this agent."""

    strategy: Strategy
    went_live_at: object = None
    uses: int = 0  # by this agent's attempts on the skill
    helpful: int = 0  # this agent's feedback
    harmful: int = 0


@dataclass
class Drilldown:
    agent: Agent
    skill: Skill
    competency: CompetencyEstimate | None
    curve: list  # (recorded_at, estimate, uncertainty), oldest first
    curve_truncated: bool
    strategies: list  # StrategyLine, by when they went live
    first_live: StrategyLine | None
    comparison: stats.Comparison | None
    overall: stats.Rate
    recent_attempts: list
    scheduled: list = field(default_factory=list)

    @property
    def live_strategies(self):
        return [line for line in self.strategies if line.strategy.status == Strategy.Status.LIVE]


def drilldown(agent, skill, now):
    """The agent's history on the skill (its subtree for a parent skill), and whether the
    strategies that reached it changed its success rate."""
    subtree_ids = list(Skill.objects.subtree(skill.key).values_list("id", flat=True))
    # Times as durations before `now` (see heatmap_grid: timestamps load slowly).
    age = ExpressionWrapper(
        Value(now, output_field=DateTimeField()) - F("recorded_at"), DurationField()
    )
    points = list(
        CompetencySnapshot.objects.filter(agent=agent, skill=skill)
        .annotate(age=age)
        .order_by("-recorded_at", "-id")
        .values_list("age", "estimate", "uncertainty")[: CURVE_POINTS + 1]
    )
    truncated = len(points) > CURVE_POINTS
    curve = [(now - age, estimate, spread) for age, estimate, spread in points[:CURVE_POINTS]][::-1]
    lines = strategy_lines(agent, skill, subtree_ids)
    live_times = [line for line in lines if line.went_live_at is not None]
    first_live = live_times[0] if live_times else None
    attempts = Attempt.objects.filter(agent=agent, skill_id__in=subtree_ids, out_of_bounds=False)
    if first_live is None:
        counts = attempts.aggregate(
            total=Count("id"), successes=Count("id", filter=Q(success=True))
        )
        comparison = None
        overall = stats.rate(counts["successes"], counts["total"])
    else:
        before = Q(created_at__lt=first_live.went_live_at)
        counts = attempts.aggregate(
            before=Count("id", filter=before),
            before_successes=Count("id", filter=before & Q(success=True)),
            after=Count("id", filter=~before),
            after_successes=Count("id", filter=~before & Q(success=True)),
        )
        comparison = stats.compare_rates(
            counts["before_successes"], counts["before"], counts["after_successes"], counts["after"]
        )
        overall = stats.rate(
            counts["before_successes"] + counts["after_successes"],
            counts["before"] + counts["after"],
        )
    return Drilldown(
        agent=agent,
        skill=skill,
        competency=CompetencyEstimate.objects.filter(agent=agent, skill=skill).first(),
        curve=curve,
        curve_truncated=truncated,
        strategies=lines,
        first_live=first_live,
        comparison=comparison,
        overall=overall,
        recent_attempts=recent_attempts(attempts),
        scheduled=list(
            PracticeAssignment.objects.filter(
                agent=agent, status__in=OPEN_ASSIGNMENTS, scenario__skill_id__in=subtree_ids
            )
            .select_related("scenario__skill")
            .order_by("-priority", "scheduled_at")[:SCHEDULED_SHOWN]
        ),
    )


def reaching_strategies(skill):
    """Strategies a memory pull for `skill` draws from: its own, its ancestors', its subtree's."""
    ancestors = [".".join(skill.key.split(".")[:n]) for n in range(1, skill.depth + 1)]
    return Strategy.objects.filter(
        Q(skill__key__in=[*ancestors, skill.key]) | Q(skill__key__startswith=f"{skill.key}.")
    )


def strategy_lines(agent, skill, subtree_ids):
    """The strategies that ever reached the skill, by when they went live (first first)."""
    strategies = list(
        reaching_strategies(skill)
        .filter(status__in=WENT_LIVE_STATUSES)
        .select_related("skill", "current_version")
    )
    times = went_live_times([strategy.pk for strategy in strategies])
    lines = {
        strategy.pk: StrategyLine(strategy=strategy, went_live_at=times.get(strategy.pk))
        for strategy in strategies
    }
    for strategy_id, uses in (
        StrategyUse.objects.filter(
            attempt__agent=agent,
            attempt__skill_id__in=subtree_ids,
            strategy_version__strategy_id__in=list(lines),
        )
        .values_list("strategy_version__strategy_id")
        .annotate(uses=Count("id"))
    ):
        lines[strategy_id].uses = uses
    for strategy_id, verdict, count in (
        StrategyFeedback.objects.filter(agent=agent, strategy_id__in=list(lines))
        .values_list("strategy_id", "verdict")
        .annotate(count=Count("id"))
    ):
        setattr(lines[strategy_id], verdict, count)
    return sorted(
        lines.values(),
        key=lambda line: (line.went_live_at is None, line.went_live_at or 0, line.strategy.pk),
    )


def went_live_times(strategy_ids):
    """When each strategy first went live: its first "strategy.live" audit event, else the
    first memory release that contained one of its versions."""
    times = {
        int(object_id): first
        for object_id, first in AuditEvent.objects.filter(
            action=LIVE_ACTION,
            object_type="strategy",
            object_id__in=[str(pk) for pk in strategy_ids],
        )
        .values_list("object_id")
        .annotate(first=Min("created_at"))
    }
    missing = [pk for pk in strategy_ids if pk not in times]
    if missing:
        times.update(
            MemoryReleaseEntry.objects.filter(strategy_version__strategy_id__in=missing)
            .values_list("strategy_version__strategy_id")
            .annotate(first=Min("release__created_at"))
        )
    return times


def recent_attempts(attempts, limit=RECENT_ATTEMPTS_SHOWN):
    """The latest attempts of a queryset, each with the status of its latest reflection."""
    latest_reflection = Reflection.objects.filter(attempt=OuterRef("pk")).order_by("-created_at")
    return list(
        attempts.select_related("skill")
        .only("id", "skill__key", "source", "success", "score", "difficulty", "created_at")
        .annotate(reflection_status=Subquery(latest_reflection.values("status")[:1]))
        .order_by("-created_at", "-id")[:limit]
    )
