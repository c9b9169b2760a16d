"""The coach's candidate strategies, filed while a reflection is stored: each becomes a proposed
(or filtered) strategy, or further evidence for an existing one. Also the read the review queue
starts from: proposed strategies with enough supporting attempts.

Filing locks the skills it files strategies under, which keeps two reflections on the same skill
from both creating the same new strategy.
"""

from django.conf import settings
from django.db import connection
from django.utils import timezone

from practice.coach.quality import quality_problems
from practice.coach.similarity import (
    is_conflict,
    is_duplicate,
    similarity,
    strategy_words,
    when_similarity,
)
from practice.models import Strategy, StrategyEvidence
from practice.services.strategies import propose_strategy
from taxonomy.models import Skill


def file_candidates(candidates, *, attempt, reflection):
    """File each candidate under the skill below the attempt's that it names, or the attempt's
    own, with those skills locked first. Runs inside the transaction storing the reflection."""
    targets = _target_skills(attempt, candidates)
    _lock_skills({attempt.skill_id, *(skill.pk for skill in targets.values())})
    for candidate in candidates:
        skill = targets.get(candidate.skill_key, attempt.skill)
        _file_candidate(candidate, skill=skill, attempt=attempt, reflection=reflection)


def _target_skills(attempt, candidates):
    """The skills below the attempt's that candidates name, by key, where they exist and are
    active; a candidate naming any other key (its own skill included) is filed under the
    attempt's skill."""
    keys = {candidate.skill_key for candidate in candidates} - {attempt.skill.key}
    if not keys:
        return {}
    found = Skill.objects.subtree(attempt.skill.key).filter(key__in=keys, active=True)
    return {skill.key: skill for skill in found}


def _lock_skills(skill_ids):
    # In id order, so two reflections never wait on each other crosswise. NO KEY UPDATE (on
    # PostgreSQL) does not block attempts being inserted for these skills meanwhile. A database
    # without row locks (SQLite) has taken its one write lock when the transaction began.
    features = connection.features
    if not features.has_select_for_update:
        return
    list(
        Skill.objects.select_for_update(no_key=features.has_select_for_no_key_update)
        .filter(pk__in=skill_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _file_candidate(candidate, *, skill, attempt, reflection):
    """Turn one candidate strategy into a strategy or into evidence for an existing one:
    - failing the quality gate: filtered with the reasons (or evidence for the same filtered one);
    - close to a live or proposed strategy of the skill: evidence for it;
    - same trigger as a live strategy with another action: proposed, marked as conflicting;
    - otherwise: a new proposed strategy.
    Returns the id of the strategy the attempt now supports."""
    text = {
        "when": str(candidate.when or "").strip(),
        "do": str(candidate.do or "").strip(),
        "because": str(candidate.because or "").strip(),
    }
    problems = quality_problems(text)
    compared_with = (
        [Strategy.Status.FILTERED] if problems else [Strategy.Status.LIVE, Strategy.Status.PROPOSED]
    )
    words = strategy_words(text)
    existing = _current_words(skill, compared_with)
    duplicate = _closest(words, existing, is_duplicate, similarity)
    if duplicate is not None:
        _add_evidence(duplicate, attempt, reflection)
        return duplicate
    live = [] if problems else [item for item in existing if item[1] == Strategy.Status.LIVE]
    contradicted = _closest(words, live, is_conflict, when_similarity)
    strategy = propose_strategy(
        skill=skill,
        when=text["when"],
        do=text["do"],
        because=text["because"],
        origin=Strategy.Origin.COACH,
        filtered_reason="; ".join(problems),
    )
    if contradicted is not None:
        strategy.conflicts_with_id = contradicted
        strategy.save(update_fields=["conflicts_with", "updated_at"])
    _add_evidence(strategy.pk, attempt, reflection)
    return strategy.pk


def _current_words(skill, statuses):
    """(id, status, words of the current when and do) of the skill's strategies with one of the
    statuses, oldest first: one query, and each text read into words once."""
    rows = (
        Strategy.objects.filter(skill=skill, status__in=statuses, current_version__isnull=False)
        .order_by("pk")
        .values_list("pk", "status", "current_version__when_text", "current_version__do_text")
    )
    return [(pk, status, strategy_words({"when": when, "do": do})) for pk, status, when, do in rows]


def _closest(words, existing, matches, closeness):
    """The id of the existing strategy that `matches` the candidate and is closest to it (the
    oldest on a tie), or None."""
    found = [
        (closeness(other, words), -pk, pk)
        for pk, _status, other in existing
        if matches(other, words)
    ]
    return max(found)[2] if found else None


def _add_evidence(strategy_id, attempt, reflection):
    """The attempt supports the strategy (once, whichever reflection says so first), and the
    strategy's support count is counted again."""
    # One statement, and no savepoint: a second coach version that files the attempt under
    # the same strategy leaves the first reflection's evidence as it is.
    StrategyEvidence.objects.bulk_create(
        [StrategyEvidence(strategy_id=strategy_id, attempt=attempt, reflection=reflection)],
        ignore_conflicts=True,
    )
    # Evidence is unique per strategy and attempt: its rows are the supporting attempts.
    support = StrategyEvidence.objects.filter(strategy_id=strategy_id).count()
    Strategy.objects.filter(pk=strategy_id).update(support_count=support, updated_at=timezone.now())


def queue_ready_strategies():
    """Proposed strategies with enough supporting attempts (ETUDE_MIN_SUPPORT) to be reviewed."""
    return Strategy.objects.filter(
        status=Strategy.Status.PROPOSED,
        support_count__gte=getattr(settings, "ETUDE_MIN_SUPPORT", 1),
    )
