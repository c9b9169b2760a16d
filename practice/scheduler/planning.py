"""The scheduler's rules: which skills an agent practices, in what order, on which scenario.

Only active skills an agent can practice (kind skill or failure mode) inside its boundaries,
and only those with an approved scenario the agent does not already hold open, are considered.

Each skill is read as of ``now`` (after the decay of the time unpracticed) from its own
attempts (a skill with failure modes is read without theirs), with **the agent's own prior** in
place of the global one (practice.estimator.agent_prior over the skills the agent attempted).
A skill the agent never tried is therefore not weak but unknown: read at the agent's usual
level, and uncertain. Let ``m`` be the ability at which a medium task succeeds at the skill's
mastery threshold (estimator.mastery_ability). In order, a skill is:

1. **weak** when the agent attempted it and it is at least WEAK_CONFIDENCE likely below ``m``
   (one standard deviation: confidently below, as the competency status says); ordered by the
   expected shortfall below ``m`` plus up to RECENT_FAILURE_BONUS for a failure in the last
   RECENT_FAILURE_DAYS days (more the more recent).
2. **learning** when it was never attempted (each skill is probed before it is trusted) or is
   more likely below ``m`` than not.
3. **review** when it is more likely above ``m`` and its spaced review (FSRS, practice.review)
   is due; the one least likely to be recalled by now first.
4. **consolidating** while it is not yet MASTERED_CONFIDENCE likely above ``m`` plus
   MASTERY_MARGIN: practice carries a skill just over the threshold far enough above it to
   survive some forgetting.
5. anything else (confidently above the threshold with the margin, review not due) waits.

Learning and consolidating skills are ordered by the expected shortfall below
``m + MASTERY_MARGIN``. Weak, learning and consolidating skills are interleaved: their priority
is divided by one plus their practice attempts of the last SPACING_DAYS days, so that one slow
skill does not take the whole budget day after day while the others wait and fade.

Picks go to every skill in need once, in that order, then further rounds on those that need
practice (all but reviews), by priority, while the budget lasts. A skill that already holds
open assignments counts them as its rounds, and a review is never added to a skill with one
open. Each pick is queued with its kind as the reason (weak, learning, review, consolidate;
``why`` says more); the stored priorities keep the order above (weak from 3, learning
from 2, review from 1, consolidating from 0), so agents claim them in that order.

On a skill, the scenario chosen is the one in the target band (predicted success in
``TARGET_BAND``) whose difficulty is closest to the difficulty giving
``estimator.PRACTICE_TARGET``; when no scenario lies in the band, the closest one. Nothing here
writes to the database.
"""

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db.models import Count, Q

from practice import estimator, review
from practice.models import (
    AssignmentReason,
    AssignmentStatus,
    Attempt,
    CompetencyEstimate,
    PracticeAssignment,
    PracticeScenario,
    ScenarioStatus,
)
from practice.services.competency import own_state
from taxonomy.models import Skill

TARGET_BAND = (0.70, 0.85)
PRACTICEABLE_KINDS = (Skill.Kind.SKILL, Skill.Kind.FAILURE_MODE)
OPEN_STATUSES = (AssignmentStatus.QUEUED, AssignmentStatus.CLAIMED)
WEAK_CONFIDENCE = 0.84
MASTERED_CONFIDENCE = 0.84
# How far past the threshold (in logits) practice carries a skill to consolidate it: at a 0.8
# threshold, from 80% to about 84% on a medium task.
MASTERY_MARGIN = 0.3
RECENT_FAILURE_DAYS = 3
RECENT_FAILURE_BONUS = 0.25
SPACING_DAYS = 7
WEAK_BASE = 3.0
LEARNING_BASE = 2.0
REVIEW_BASE = 1.0
CONSOLIDATING_BASE = 0.0


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
class SkillReading:
    """One skill as the rules see it at a moment: its state on the agent's prior, whether the
    agent ever attempted it, its review state, its last failure and its recent practice."""

    skill: Skill
    state: dict
    attempted: bool
    review_state: dict
    last_failed_at: datetime | None
    recent_practice: int


REASONS = {
    "weak": AssignmentReason.WEAK,
    "learning": AssignmentReason.LEARNING,
    "review": AssignmentReason.REVIEW,
    "consolidating": AssignmentReason.CONSOLIDATE,
}


@dataclass(frozen=True)
class Need:
    """Why a skill should be practiced now (its kind, see the module docstring) and how urgently."""

    skill: Skill
    kind: str  # "weak", "learning", "review" or "consolidating"
    priority: float
    state: dict
    why: str

    @property
    def reason(self):
        return REASONS[self.kind]


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
    needs = []
    for reading in read_skills(agent, skills, now):
        if not bank[reading.skill.pk]:
            continue
        need = need_for(reading, now)
        if need is None or (need.kind == "review" and held[reading.skill.pk]):
            continue
        needs.append(need)
    return fill(needs, held, bank, budget)


def practiceable_skills(agent):
    """The active skills and failure modes inside the agent's boundaries, by key."""
    keys = list(agent.boundaries.values_list("key", flat=True))
    if not keys:
        return Skill.objects.none()
    within = reduce(or_, (Q(key=key) | Q(key__startswith=f"{key}.") for key in keys))
    return Skill.objects.active().filter(within, kind__in=PRACTICEABLE_KINDS).order_by("key")


def read_skills(agent, skills, now):
    """A SkillReading of each skill as of ``now``, on the agent's own prior."""
    competencies = {
        competency.skill_id: competency
        for competency in CompetencyEstimate.objects.filter(agent=agent, skill__in=skills)
    }
    recent = dict(
        Attempt.objects.filter(
            agent=agent,
            skill__in=skills,
            source=Attempt.Source.PRACTICE,
            created_at__gt=now - timedelta(days=SPACING_DAYS),
            created_at__lte=now,
        )
        .values("skill_id")
        .annotate(count=Count("pk"))
        .values_list("skill_id", "count")
    )
    own = {}
    for skill in skills:
        competency = competencies.get(skill.pk)
        state = own_state(competency) if competency else {}
        own[skill.pk] = estimator.decay(state, now) if state else {}
    prior = estimator.agent_prior(state for state in own.values() if state)
    readings = []
    for skill in skills:
        competency = competencies.get(skill.pk)
        readings.append(
            SkillReading(
                skill=skill,
                state=estimator.with_prior(own[skill.pk], *prior),
                attempted=bool(own[skill.pk]),
                review_state=competency.review_state if competency else {},
                last_failed_at=competency.last_failed_at if competency else None,
                recent_practice=recent.get(skill.pk, 0),
            )
        )
    return readings


def need_for(reading, now):
    """The Need of one skill as of ``now`` (see the module docstring), or None if it waits."""
    state, threshold = reading.state, reading.skill.mastery_threshold
    estimate, _ = estimator.competency(state)
    below = estimator.below_probability(state, threshold)
    summary = f"estimate {estimate:.2f}, {below:.0%} likely below mastery ({threshold:.2f})"
    if reading.attempted and below >= WEAK_CONFIDENCE:
        bonus, failed = _recent_failure_bonus(reading.last_failed_at, now)
        shortfall = estimator.expected_shortfall(state, threshold) + bonus
        return _practice_need(reading, "weak", WEAK_BASE, shortfall, summary + failed)
    shortfall = estimator.expected_shortfall(state, threshold, MASTERY_MARGIN)
    if not reading.attempted:
        return _practice_need(reading, "learning", LEARNING_BASE, shortfall, "never attempted")
    if below >= 0.5:
        return _practice_need(reading, "learning", LEARNING_BASE, shortfall, summary)
    if reading.review_state and review.is_due(reading.review_state, now):
        recall = review.retrievability(reading.review_state, now)
        overdue = now - (review.due_at(reading.review_state) or now)
        why = f"{summary}; review {overdue.total_seconds() / 86400.0:.1f} days overdue"
        return Need(reading.skill, "review", REVIEW_BASE + 1.0 - recall, state, why)
    if estimator.below_probability(state, threshold, MASTERY_MARGIN) > 1.0 - MASTERED_CONFIDENCE:
        why = f"not yet confidently mastered: {summary}"
        return _practice_need(reading, "consolidating", CONSOLIDATING_BASE, shortfall, why)
    return None


def _practice_need(reading, kind, base, shortfall, why):
    # Interleaving: recent practice on the skill lowers its claim on today's budget.
    spaced = shortfall / (1.0 + reading.recent_practice)
    return Need(reading.skill, kind, base + _squash(spaced), reading.state, why)


def fill(needs, held, bank, budget):
    """Picks for the needs (see the module docstring) from each skill's bank, up to ``budget``."""
    by_priority = sorted(needs, key=lambda need: (-need.priority, need.skill.key))
    practice = [need for need in by_priority if need.kind != "review"]
    picks = []
    taken = Counter(held)
    ranked = {need.skill.pk: _ranked_scenarios(need.state, bank[need.skill.pk]) for need in needs}

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

    # Every need once, in priority order, then further rounds on the skills that need practice.
    for need in by_priority:
        if taken[need.skill.pk] == 0:
            take(need)
    rounds = 1
    while len(picks) < budget and any(ranked[need.skill.pk] for need in practice):
        for need in practice:
            if taken[need.skill.pk] <= rounds:
                take(need)
        rounds += 1
    return picks


def _recent_failure_bonus(last_failed_at, now):
    if last_failed_at is None:
        return 0.0, ""
    age = now - last_failed_at
    window = timedelta(days=RECENT_FAILURE_DAYS)
    if age >= window or age < timedelta(0):
        return 0.0, ""
    days = age.total_seconds() / 86400.0
    return RECENT_FAILURE_BONUS * (1.0 - age / window), f"; failed {days:.1f} days ago"


def _squash(value):
    """A non-negative priority mapped into [0, 1), in the same order."""
    return value / (1.0 + value)


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
