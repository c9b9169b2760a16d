"""Reads for the dashboards: the overview figures, the heatmap grid, a skill's surroundings
and an agent's page (one agent on one skill: oversight.dashboards.progress). The heatmap reads the precomputed competency
estimates (one row per agent and skill), never the attempts behind them."""

from array import array
from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.db.models import (
    Avg,
    Count,
    DateTimeField,
    F,
    Func,
    IntegerField,
    Max,
    Q,
    Value,
)
from django.db.models.functions import Cast, Floor

from oversight.dashboards import stats
from oversight.selectors import queue_stats
from practice.models import (
    Agent,
    Attempt,
    CompetencyEstimate,
    CurrentRelease,
    PracticeAssignment,
    PracticeScenario,
    Reflection,
    Strategy,
)
from taxonomy.models import Skill

RECENT_DAYS = 7
WEAKEST_SHOWN = 10
FAILED_REFLECTIONS_SHOWN = 10
OPEN_ASSIGNMENTS = (PracticeAssignment.Status.QUEUED, PracticeAssignment.Status.CLAIMED)

# The heatmap's cells travel as typed arrays; these values mean "nothing to show".
NO_SCORE = 255
NEVER = 255  # last practiced: never (254 means 254 days or more)
NO_REVIEW = -128  # next review: none scheduled (+-127 mean that many days or more)


# --- Overview ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentActivity:
    agent: Agent
    rate: stats.Rate


@dataclass(frozen=True)
class WeakestAgent:
    name: str
    simulated: bool
    estimate: float

    def __str__(self):
        return f"{self.name} (simulation)" if self.simulated else self.name


@dataclass(frozen=True)
class WeakSkill:
    skill_id: int
    key: str
    name: str
    average: float
    agents: int
    weakest: WeakestAgent | None


def overview(now):
    """Everything the overview page shows."""
    pointer = CurrentRelease.objects.select_related("release").first()
    failed = Reflection.objects.filter(status=Reflection.Status.FAILED)
    return {
        "queue": queue_stats(),
        "release": pointer.release if pointer else None,
        "release_out_at": pointer.changed_at if pointer else None,
        "activity": recent_activity(now),
        "weakest": weakest_skills(),
        "failed_count": failed.count(),
        "failed_reflections": list(
            failed.select_related("attempt__agent", "attempt__skill")
            .defer("performance_trace", "raw_output", "decision_points")
            .order_by("-created_at")[:FAILED_REFLECTIONS_SHOWN]
        ),
    }


def recent_activity(now, days=RECENT_DAYS):
    """Each active agent's success rate over the last `days`, weakest first, idle agents last."""
    counts = {
        row["agent_id"]: row
        for row in Attempt.objects.filter(created_at__gte=now - timedelta(days=days))
        .values("agent_id")
        .annotate(attempts=Count("id"), successes=Count("id", filter=Q(success=True)))
    }
    activity = []
    for agent in Agent.objects.filter(active=True).order_by("name"):
        row = counts.get(agent.pk, {"attempts": 0, "successes": 0})
        activity.append(
            AgentActivity(agent=agent, rate=stats.rate(row["successes"], row["attempts"]))
        )
    activity.sort(key=lambda item: (item.rate.value is None, item.rate.value or 0))
    return activity


def weakest_skills(limit=WEAKEST_SHOWN):
    """Skills with the lowest competency averaged over the agents that tried them, each with
    its weakest agent. Only estimates from the skills' own attempts count (no roll-ups)."""
    # Grouped by the skill id alone; the few skills shown are looked up after.
    rows = list(
        CompetencyEstimate.objects.filter(attempts__gt=0, rolled_up=False, skill__active=True)
        .values("skill_id")
        .annotate(average=Avg("estimate"), agents=Count("agent_id"))
        .order_by("average", "skill_id")[:limit]
    )
    skills = Skill.objects.in_bulk([row["skill_id"] for row in rows])
    weakest = {}
    for skill_id, name, simulated, estimate in (
        CompetencyEstimate.objects.filter(
            skill_id__in=[row["skill_id"] for row in rows], attempts__gt=0, rolled_up=False
        )
        .order_by("skill_id", "estimate", "agent__name")
        .values_list("skill_id", "agent__name", "agent__simulated", "estimate")
    ):
        weakest.setdefault(skill_id, WeakestAgent(name, simulated, estimate))
    return [
        WeakSkill(
            skill_id=row["skill_id"],
            key=skills[row["skill_id"]].key,
            name=skills[row["skill_id"]].name,
            average=row["average"],
            agents=row["agents"],
            weakest=weakest.get(row["skill_id"]),
        )
        for row in rows
    ]


# --- Heatmap -------------------------------------------------------------------------------------


class WholeDays(Func):
    """Whole days from the second moment to the first, rounded down (negative when the first
    is earlier), computed by the database; NULL when either is NULL."""

    arity = 2
    arg_joiner = " - "
    # date_part gives a double; EXTRACT a numeric, several times slower over 50,000 rows.
    template = "FLOOR(date_part('epoch', %(expressions)s) / 86400)::integer"
    output_field = IntegerField()

    def as_sqlite(self, compiler, connection, **extra_context):
        (later, later_params), (earlier, earlier_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        # CAST truncates toward zero; shifting by a large whole number first rounds down.
        return (
            f"(CAST(julianday({later}) - julianday({earlier}) + {SQLITE_DAY_SHIFT} AS INTEGER)"
            f" - {SQLITE_DAY_SHIFT})",
            (*later_params, *earlier_params),
        )


SQLITE_DAY_SHIFT = 1_000_000


def percent(field):
    """A 0-1 column in whole percent, rounded half up, computed by the database (Round would
    go through PostgreSQL's numeric type, several times slower)."""
    return Cast(Floor(F(field) * 100 + 0.5), IntegerField())


@dataclass
class HeatmapGrid:
    """Agents (rows) by skills (columns), each cell as small integers in row-major arrays."""

    level: int
    agents: list  # (id, name, simulated)
    skills: list  # (id, key, name)
    scores: bytearray  # estimate in whole percent; NO_SCORE where the agent has none
    uncertainty: bytearray  # in whole percent (0-50)
    attempts: array  # "B", "H" or "I" (4 bytes): the narrowest that holds every count
    last_practiced: bytearray  # days ago, capped at 254; NEVER
    next_review: array  # "b": days from now, capped at +-127; NO_REVIEW
    filled: int = 0

    @property
    def shape(self):
        return len(self.agents), len(self.skills)


def taxonomy_depth():
    """The deepest level of the active taxonomy (0 when it is flat or empty)."""
    return Skill.objects.filter(active=True).aggregate(top=Max("depth"))["top"] or 0


def heatmap_grid(*, level, now, subtree=None, agent_ids=()):
    """The competency of each chosen agent on each active skill at `level` (within `subtree`).

    Parents show their rolled-up estimates. A `subtree` deeper than `level` shows itself."""
    if subtree is not None:
        level = max(level, subtree.depth)
    skills = Skill.objects.filter(active=True, depth=level)
    if subtree is not None:
        skills = skills.subtree(subtree.key)
    skills = list(skills.order_by("key").values_list("id", "key", "name"))
    agents = Agent.objects.filter(active=True)
    if agent_ids:
        agents = agents.filter(pk__in=agent_ids)
    agents = list(agents.order_by("name").values_list("id", "name", "simulated"))

    size = len(agents) * len(skills)
    grid = HeatmapGrid(
        level=level,
        agents=agents,
        skills=skills,
        scores=bytearray([NO_SCORE]) * size,
        uncertainty=bytearray(size),
        attempts=array("H", bytes(2 * size)),
        last_practiced=bytearray([NEVER]) * size,
        next_review=array("b", [NO_REVIEW]) * size,
    )
    if not size:
        return grid
    columns = len(skills)
    # Each agent's first cell and each skill's column: a cell is their sum.
    row_start = {agent_id: index * columns for index, (agent_id, _, _) in enumerate(agents)}
    column_of = {skill_id: index for index, (skill_id, _, _) in enumerate(skills)}
    estimates = CompetencyEstimate.objects.filter(skill_id__in=list(column_of))
    if agent_ids:
        estimates = estimates.filter(agent_id__in=list(row_start))
    # The database turns each cell into small integers: loading 50,000 rows of floats and
    # timestamps into Python objects would cost more than the rest of the page.
    moment = Value(now, output_field=DateTimeField())
    estimates = estimates.annotate(
        score=percent("estimate"),
        spread=percent("uncertainty"),
        practiced_days=WholeDays(moment, F("last_practiced_at")),
        review_days=WholeDays(F("next_review_at"), moment),
    )
    scores, uncertainties = grid.scores, grid.uncertainty
    last_practiced, next_review = grid.last_practiced, grid.next_review
    counts = []
    # The hot loop of the page (50,000 cells at 200 agents x 250 skills): plain comparisons
    # rather than function calls.
    for agent_id, skill_id, score, spread, attempts, practiced, review in _all_rows(
        estimates.values_list(*HEATMAP_FIELDS)
    ):
        start = row_start.get(agent_id)
        if start is None:  # an inactive agent
            continue
        cell = start + column_of[skill_id]
        scores[cell] = score
        uncertainties[cell] = spread if spread <= 100 else 100
        counts.append((cell, attempts))
        if practiced is not None:
            last_practiced[cell] = (
                practiced if 0 <= practiced < NEVER else (0 if practiced < 0 else NEVER - 1)
            )
        if review is not None:
            next_review[cell] = review if -127 <= review <= 127 else (127 if review > 0 else -127)
    widest = max((count for _, count in counts), default=0)
    if widest > 0xFFFF:
        grid.attempts = array("I", bytes(4 * size))
    elif widest < 0x100:
        grid.attempts = array("B", bytes(size))
    for cell, count in counts:
        grid.attempts[cell] = count
    grid.filled = len(counts)
    return grid


# The columns a heatmap cell is made of, in the order heatmap_grid reads them.
HEATMAP_FIELDS = (
    "agent_id",
    "skill_id",
    "score",
    "spread",
    "attempts",
    "practiced_days",
    "review_days",
)


def _all_rows(queryset):
    """Every row of a values_list queryset in one fetch. Django's iterator fetches 100 rows at
    a time and copies each; for 50,000 cells that costs as much as the query. Only for queries
    whose columns need no conversion to Python values (integers here)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- A skill -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaxonomyNode:
    id: int
    key: str
    name: str
    parent_key: str
    kind: str
    average: float | None
    agents: int


def skill_page(skill):
    """The skill's surroundings: ancestors, the subtree of its parent coloured by average
    competency, its strategies, scenario bank and the agents authorized for it."""
    ancestors = list(Skill.objects.ancestors_of(skill.key).order_by("depth"))
    root = skill.parent or skill
    nodes = list(
        Skill.objects.subtree(root.key)
        .filter(active=True)
        .order_by("key")
        .values_list("id", "key", "name", "parent__key", "kind")
    )
    averages = {
        row["skill_id"]: row
        for row in CompetencyEstimate.objects.filter(
            skill_id__in=[node[0] for node in nodes], attempts__gt=0
        )
        .values("skill_id")
        .annotate(average=Avg("estimate"), agents=Count("agent_id"))
    }
    authorized = list(
        Agent.objects.filter(
            boundary_links__skill__key__in=[a.key for a in ancestors] + [skill.key]
        )
        .distinct()
        .order_by("name")
    )
    competencies = {
        competency.agent_id: competency
        for competency in CompetencyEstimate.objects.filter(skill=skill, agent__in=authorized)
    }
    return {
        "ancestors": ancestors,
        "children": list(skill.children.filter(active=True).order_by("key")),
        "nodes": [
            TaxonomyNode(
                id=node_id,
                key=key,
                name=name,
                parent_key=parent_key if node_id != root.pk else "",
                kind=kind,
                average=averages.get(node_id, {}).get("average"),
                agents=averages.get(node_id, {}).get("agents", 0),
            )
            for node_id, key, name, parent_key, kind in nodes
        ],
        "strategies": list(
            Strategy.objects.filter(skill=skill)
            .select_related("current_version")
            .order_by("status", "-helpful_count", "pk")
        ),
        "scenarios": list(
            PracticeScenario.objects.filter(skill=skill).order_by("status", "difficulty", "pk")
        ),
        "authorized": [(agent, competencies.get(agent.pk)) for agent in authorized],
    }


def effectiveness(strategy):
    """The Laplace-smoothed helpful share, as memory ranking uses it: (h + 1) / (h + harm + 2)."""
    return (strategy.helpful_count + 1) / (strategy.helpful_count + strategy.harmful_count + 2)


# --- An agent ------------------------------------------------------------------------------------


def practice_queue(agent):
    """The agent's open practice assignments, most urgent first."""
    return list(
        PracticeAssignment.objects.filter(agent=agent, status__in=OPEN_ASSIGNMENTS)
        .select_related("scenario__skill")
        .order_by("-priority", "scheduled_at")
    )


def agent_keys(agent):
    return list(agent.keys.select_related("created_by").order_by("-created_at"))
