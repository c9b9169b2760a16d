"""Simulated time: moving the rows the simulation causes to the simulated moment.

The services stamp rows with the wall clock, so the simulation moves the rows it causes with
QuerySet.update: each attempt's created_at right after it is stored (before competency reads
it), and at the end of each day the completed assignments, reflections, replay scenarios, and
the strategies and taxonomy proposals filed from the day's attempts. It is the only writer that
does so, and only for its own rows. Immutable records (memory releases, strategy versions, the
audit log) keep their real times; a release's note names its simulated day.
"""

from django.db.models import Max, OuterRef, Subquery

from practice.models import (
    Attempt,
    PracticeAssignment,
    PracticeScenario,
    Reflection,
    Strategy,
    StrategyEvidence,
)
from taxonomy.models import TaxonomyProposal


def date_attempt(attempt, at):
    """Give a just-stored attempt its simulated moment, in the database and on the instance."""
    Attempt.objects.filter(pk=attempt.pk).update(created_at=at)
    attempt.created_at = at


def date_back(attempt_ids, first_strategy, first_proposal):
    """Give the rows the day's attempts caused the simulated time of their attempt."""
    attempt_time = Subquery(
        Attempt.objects.filter(pk=OuterRef("attempt_id")).values("created_at")[:1]
    )
    PracticeAssignment.objects.filter(attempt_id__in=attempt_ids).update(
        claimed_at=attempt_time, completed_at=attempt_time
    )
    Reflection.objects.filter(attempt_id__in=attempt_ids).update(
        started_at=attempt_time, finished_at=attempt_time
    )
    PracticeScenario.objects.filter(source_attempt_id__in=attempt_ids).update(
        created_at=Subquery(
            Attempt.objects.filter(pk=OuterRef("source_attempt_id")).values("created_at")[:1]
        )
    )
    first_evidence = (
        StrategyEvidence.objects.filter(strategy_id=OuterRef("pk"))
        .order_by("attempt__created_at")
        .values("attempt__created_at")[:1]
    )
    Strategy.objects.filter(
        pk__gt=first_strategy, evidence_links__attempt_id__in=attempt_ids
    ).update(created_at=Subquery(first_evidence))
    fresh = TaxonomyProposal.objects.filter(
        pk__gt=first_proposal, proposer_type=TaxonomyProposal.ProposerType.COACH
    ).order_by("pk")
    for proposal in fresh:
        evidence = [pk for pk in proposal.evidence if pk in attempt_ids]
        if evidence:
            # Filed when the last failure it rests on was reflected on.
            latest = Attempt.objects.filter(pk__in=evidence).aggregate(at=Max("created_at"))
            TaxonomyProposal.objects.filter(pk=proposal.pk).update(created_at=latest["at"])
