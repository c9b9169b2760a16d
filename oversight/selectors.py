"""Reads for the oversight pages."""

from django.db.models import Count, Min

from practice.models import Agent, Attempt, Reflection, Strategy
from practice.services.strategies import current_release
from taxonomy.models import Skill, TaxonomyProposal


def workspace_summary():
    """The figures on the home page."""
    queue = Strategy.objects.filter(status=Strategy.Status.PROPOSED).aggregate(
        size=Count("id"), oldest=Min("created_at")
    )
    proposals = TaxonomyProposal.objects.filter(status=TaxonomyProposal.Status.PROPOSED).aggregate(
        size=Count("id"), oldest=Min("created_at")
    )
    oldest = [moment for moment in (queue["oldest"], proposals["oldest"]) if moment]
    return {
        "skills": Skill.objects.count(),
        "agents": Agent.objects.count(),
        "attempts": Attempt.objects.count(),
        "queue_size": queue["size"] + proposals["size"],
        "queue_oldest": min(oldest) if oldest else None,
        "live_strategies": Strategy.objects.filter(status=Strategy.Status.LIVE).count(),
        "failed_reflections": Reflection.objects.filter(status=Reflection.Status.FAILED).count(),
        "release": current_release(),
    }
