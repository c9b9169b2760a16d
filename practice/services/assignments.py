"""Handing scheduled practice to agents."""

from django.db import connection, transaction
from django.utils import timezone

from practice.models import PracticeAssignment


def claim_next_assignment(agent):
    """Claim the agent's next queued practice scenario, or None when nothing is due."""
    with transaction.atomic():
        queued = PracticeAssignment.objects.filter(
            agent=agent, status=PracticeAssignment.Status.QUEUED, scheduled_at__lte=timezone.now()
        ).order_by("-priority", "scheduled_at", "pk")
        if connection.features.has_select_for_update_skip_locked:
            queued = queued.select_for_update(skip_locked=True)
        assignment = queued.select_related("scenario", "scenario__skill").first()
        if assignment is None:
            return None
        assignment.status = PracticeAssignment.Status.CLAIMED
        assignment.claimed_at = timezone.now()
        assignment.save(update_fields=["status", "claimed_at"])
    return assignment
