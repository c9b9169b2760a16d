"""Competency of agents on skills: updated from every attempt, rolled up the taxonomy, kept as a
history of snapshots, and read with the decay of the time unpracticed (see practice.estimator).

A skill's estimate comes from its own attempts; once the agent has estimates on its child
skills it is rolled up: the estimator's roll-up of the children (weighted by their attempts) and
of the skill's own attempt-based state, which is kept under ``OWN`` in the model state. The
counters and times of a skill count every attempt in its subtree, so a parent's own attempts
are its count minus its children's.
"""

from datetime import datetime
from typing import NamedTuple

from django.db import transaction

from practice import estimator, review
from practice.models import Attempt, CompetencyEstimate, CompetencySnapshot
from taxonomy.models import Skill

# Where a rolled-up skill keeps the state learnt from its own attempts.
OWN = "own"
# A failure counts as at most a half success, whatever score the agent gave it.
FAILURE_CEILING = 0.5


class Reading(NamedTuple):
    """A competency as of a moment: estimate and uncertainty on 0-1, and weak/learning/mastered."""

    estimate: float
    uncertainty: float
    status: str


class ProfileEntry(NamedTuple):
    skill: Skill
    competency: CompetencyEstimate
    reading: Reading


def record_outcome(attempt):
    """Count an attempt in the agent's competency on its skill and every ancestor, with history.

    Idempotent: returns False when the attempt was already counted or lies out of bounds."""
    if attempt.out_of_bounds:
        return False
    with transaction.atomic():
        competency = _locked_competency(attempt.agent_id, attempt.skill)
        # Checked under the lock, so two deliveries of the same attempt cannot both pass.
        if CompetencySnapshot.objects.filter(attempt=attempt, skill=attempt.skill).exists():
            return False
        _count(competency, attempt)
        _learn(competency, attempt)
        _snapshot(competency, attempt)
        # Deepest first: each parent reads children already saved, and locks are always taken
        # from the leaf toward the root, so concurrent updates cannot deadlock.
        for parent in Skill.objects.ancestors_of(attempt.skill.key).order_by("-depth"):
            parent_competency = _locked_competency(attempt.agent_id, parent)
            _count(parent_competency, attempt)
            parent_competency.model_state = _combined_state(
                parent_competency, own_state(parent_competency), at=attempt.created_at
            )
            _save(parent_competency)
            _snapshot(parent_competency, attempt)
    return True


def decayed(competency, now):
    """The competency as of ``now`` (after the decay of the time unpracticed), as a Reading."""
    state = estimator.decay(competency.model_state, now)
    estimate, uncertainty = estimator.competency(state)
    status = estimator.classify(state, competency.skill.mastery_threshold)
    return Reading(estimate=estimate, uncertainty=uncertainty, status=status)


def competency_profile(agent, now):
    """Every skill the agent has a competency on, by skill key, each read as of ``now``."""
    competencies = CompetencyEstimate.objects.filter(agent=agent).select_related("skill")
    return [
        ProfileEntry(
            skill=competency.skill, competency=competency, reading=decayed(competency, now)
        )
        for competency in competencies.order_by("skill__key")
    ]


def _locked_competency(agent_id, skill):
    competency, _ = CompetencyEstimate.objects.select_for_update().get_or_create(
        agent_id=agent_id, skill=skill
    )
    competency.skill = skill
    return competency


def _count(competency, attempt):
    at = attempt.created_at
    competency.attempts += 1
    competency.successes += int(attempt.success)
    competency.last_attempt_at = _latest(competency.last_attempt_at, at)
    if attempt.source == Attempt.Source.PRACTICE:
        competency.last_practiced_at = _latest(competency.last_practiced_at, at)
    if not attempt.success:
        competency.last_failed_at = _latest(competency.last_failed_at, at)


def _learn(competency, attempt):
    score = attempt.score if attempt.success else min(attempt.score, FAILURE_CEILING)
    y = estimator.observed_outcome(success=attempt.success, score=score)
    own = estimator.update(
        own_state(competency), y=y, difficulty=attempt.difficulty, at=attempt.created_at
    )
    competency.model_state = _combined_state(competency, own, at=attempt.created_at)
    # An attempt older than the last review is reviewed at that time: FSRS counts elapsed days.
    last_review = competency.review_state.get("last_review") if competency.review_state else None
    reviewed_at = _latest(
        datetime.fromisoformat(last_review) if last_review else None, attempt.created_at
    )
    competency.review_state, competency.next_review_at = review.review(
        competency.review_state, success=attempt.success, score=attempt.score, at=reviewed_at
    )
    _save(competency)


def own_state(competency):
    """The state learnt from the skill's own attempts (without its children's); {} if none."""
    if competency.rolled_up:
        return competency.model_state.get(OWN, {})
    return competency.model_state


def _combined_state(competency, own, *, at):
    """The skill's state from its own state and its children's; just ``own`` without children."""
    children = list(
        CompetencyEstimate.objects.filter(
            agent_id=competency.agent_id, skill__parent_id=competency.skill_id
        )
    )
    if not children:
        competency.rolled_up = False
        return own
    competency.rolled_up = True
    own_attempts = competency.attempts - sum(child.attempts for child in children)
    parts = [(child.model_state, max(child.attempts, 1)) for child in children]
    if own_attempts > 0:
        parts.append((own, own_attempts))
    common = max([at, *(_state_time(state) for state, _ in parts if _state_time(state))])
    state = estimator.roll_up([(estimator.decay(state, common), weight) for state, weight in parts])
    if own_attempts > 0:
        state[OWN] = own
    return state


def _save(competency):
    competency.estimate, competency.uncertainty = estimator.competency(competency.model_state)
    competency.save()


def _snapshot(competency, attempt):
    CompetencySnapshot.objects.create(
        agent_id=competency.agent_id,
        skill=competency.skill,
        estimate=competency.estimate,
        uncertainty=competency.uncertainty,
        attempt=attempt,
        recorded_at=attempt.created_at,
    )


def _state_time(state):
    stamp = state.get("updated_at") if state else None
    return datetime.fromisoformat(stamp) if stamp else None


def _latest(current, at):
    return at if current is None or at > current else current
