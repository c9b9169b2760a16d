"""The scheduler's rules: which skills an agent practices, in what order, on which scenario.

Only active skills an agent can practice (kind skill or failure mode) inside its boundaries,
and only those with an approved scenario the agent does not already hold open, are considered.
Each is read as of ``now`` (after the decay of the time unpracticed):

- **weak** (needs practice): its estimate is below the skill's mastery threshold, or it was
  never attempted. This covers the skills confidently below the threshold (status "weak") and
  those not yet proven either way: leaving out a skill whose best guess is below mastery would
  stall it just short of the threshold. Ordered by the gap to the threshold, plus up to
  ``RECENT_FAILURE_BONUS`` for a failure in the last ``RECENT_FAILURE_DAYS`` days (more the
  more recent).
- **review**: its estimate is at or above the threshold and its FSRS review is due; ordered by
  how long overdue.
- anything else waits.

Picks go to every weak skill once, then to every due review, then further rounds on the weak
skills (weakest first) while the budget lasts: weak skills get more practice, yet reviews are
not starved by them. A skill that already holds open assignments counts them as its rounds,
and a review is never added to a skill with one open. On a skill, the scenario chosen is the
one in the target band (predicted success in ``TARGET_BAND``) whose difficulty is closest to
the difficulty giving ``estimator.PRACTICE_TARGET``; when no scenario lies in the band, the
closest one. Nothing here writes to the database.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import timedelta
from functools import reduce
from operator import or_

from django.db.models import Q

from practice import estimator, review
from practice.models import (
    AssignmentReason,
    AssignmentStatus,
    CompetencyEstimate,
    PracticeAssignment,
    PracticeScenario,
    ScenarioStatus,
)
from taxonomy.models import Skill

TARGET_BAND = (0.70, 0.85)
PRACTICEABLE_KINDS = (Skill.Kind.SKILL, Skill.Kind.FAILURE_MODE)
OPEN_STATUSES = (AssignmentStatus.QUEUED, AssignmentStatus.CLAIMED)
RECENT_FAILURE_DAYS = 3
RECENT_FAILURE_BONUS = 0.25
# Priorities are stored on assignments and claimed highest first: every weak pick (2 and up)
# comes before every review (between 1 and 2).
WEAK_BASE = 2.0
REVIEW_BASE = 1.0


@dataclass(frozen=True)
class Pick:
    """One planned practice item: a scenario, why it was chosen, and how hard it should feel."""

    skill: Skill
    scenario: PracticeScenario
    reason: str
    priority: float
    target_difficulty: float
    predicted_success: float
    why: str


@dataclass(frozen=True)
class _Need:
    skill: Skill
    reason: str
    priority: float
    state: dict
    why: str


def plan_practice(agent, *, now, budget):
    """Up to ``budget`` picks for the agent as of ``now``, in the order they should be practiced."""
    if budget <= 0:
        return []
    skills = list(practiceable_skills(agent))
    open_assignments = PracticeAssignment.objects.filter(agent=agent, status__in=OPEN_STATUSES)
    held = Counter(open_assignments.values_list("scenario__skill_id", flat=True))
    bank = defaultdict(list)
    scenarios = PracticeScenario.objects.filter(
        skill__in=skills, status=ScenarioStatus.APPROVED
    ).exclude(pk__in=open_assignments.values("scenario_id"))
    for scenario in scenarios.order_by("difficulty", "pk"):
        bank[scenario.skill_id].append(scenario)
    competencies = {
        competency.skill_id: competency
        for competency in CompetencyEstimate.objects.filter(agent=agent, skill__in=skills)
    }
    weak, due = [], []
    for skill in skills:
        if not bank[skill.pk]:
            continue
        need = _need(skill, competencies.get(skill.pk), now)
        if need is None:
            continue
        if need.reason == AssignmentReason.WEAK:
            weak.append(need)
        elif held[skill.pk] == 0:
            due.append(need)
    weak.sort(key=lambda need: (-need.priority, need.skill.key))
    due.sort(key=lambda need: (-need.priority, need.skill.key))
    return _fill(weak, due, held, bank, budget)


def practiceable_skills(agent):
    """The active skills and failure modes inside the agent's boundaries, by key."""
    keys = list(agent.boundaries.values_list("key", flat=True))
    if not keys:
        return Skill.objects.none()
    within = reduce(or_, (Q(key=key) | Q(key__startswith=f"{key}.") for key in keys))
    return Skill.objects.active().filter(within, kind__in=PRACTICEABLE_KINDS).order_by("key")


def _need(skill, competency, now):
    state = estimator.decay(competency.model_state if competency else {}, now)
    estimate, _ = estimator.competency(state)
    threshold = skill.mastery_threshold
    if competency is None or competency.attempts == 0:
        gap = max(threshold - estimate, 0.0)
        return _Need(skill, AssignmentReason.WEAK, WEAK_BASE + gap, state, "never attempted")
    if estimate < threshold:
        gap = threshold - estimate
        bonus, failed = _recent_failure_bonus(competency.last_failed_at, now)
        why = f"estimate {estimate:.2f} is {gap:.2f} below mastery ({threshold:.2f}){failed}"
        return _Need(skill, AssignmentReason.WEAK, WEAK_BASE + gap + bonus, state, why)
    if review.is_due(competency.review_state, now):
        due_at = review.due_at(competency.review_state) or now
        overdue_days = max((now - due_at).total_seconds() / 86400.0, 0.0)
        why = f"estimate {estimate:.2f} at or above mastery; review {overdue_days:.1f} days overdue"
        priority = REVIEW_BASE + overdue_days / (overdue_days + 1.0)
        return _Need(skill, AssignmentReason.REVIEW, priority, state, why)
    return None


def _recent_failure_bonus(last_failed_at, now):
    if last_failed_at is None:
        return 0.0, ""
    age = now - last_failed_at
    window = timedelta(days=RECENT_FAILURE_DAYS)
    if age >= window or age < timedelta(0):
        return 0.0, ""
    days = age.total_seconds() / 86400.0
    return RECENT_FAILURE_BONUS * (1.0 - age / window), f"; failed {days:.1f} days ago"


def _fill(weak, due, held, bank, budget):
    picks = []
    taken = Counter(held)
    ranked = {need.skill.pk: _ranked_scenarios(need.state, bank[need.skill.pk]) for need in weak}
    ranked.update(
        {need.skill.pk: _ranked_scenarios(need.state, bank[need.skill.pk]) for need in due}
    )

    def take(need):
        if len(picks) >= budget or not ranked[need.skill.pk]:
            return
        scenario, predicted = ranked[need.skill.pk].pop(0)
        picks.append(
            Pick(
                skill=need.skill,
                scenario=scenario,
                reason=need.reason,
                priority=need.priority,
                target_difficulty=estimator.difficulty_for(need.state),
                predicted_success=predicted,
                why=need.why,
            )
        )
        taken[need.skill.pk] += 1

    for need in weak:
        if taken[need.skill.pk] == 0:
            take(need)
    for need in due:
        take(need)
    rounds = 1
    while len(picks) < budget and any(ranked[need.skill.pk] for need in weak):
        for need in weak:
            if taken[need.skill.pk] <= rounds:
                take(need)
        rounds += 1
    return picks


def _ranked_scenarios(state, scenarios):
    """The skill's scenarios with their predicted success, best first for this state."""
    target = estimator.difficulty_for(state)
    low, high = TARGET_BAND
    rated = [
        (scenario, estimator.predicted_success(state, scenario.difficulty))
        for scenario in scenarios
    ]
    rated.sort(
        key=lambda pair: (
            not low <= pair[1] <= high,
            abs(pair[0].difficulty - target),
            pair[0].difficulty,
            pair[0].pk,
        )
    )
    return rated
