"""Auto-approval of the strategies a simulated day filed, and the release it publishes.

Only with the setting ETUDE_SIMULATION_AUTO_APPROVE: after each day, each new queue-ready
strategy filed from the day's simulated attempts goes live with probability
``auto_approve_share``, except strategies of sensitive skills and strategies flagged as
conflicting, which always wait for reviewers; a release is published when any went live. The
draws come from the run's own approval stream, so the same seed approves the same strategies.
"""

from django.conf import settings

from practice.models import Strategy
from practice.services import reflection, strategies

AUTO_APPROVER = "simulation auto-approval"


def auto_approval_enabled():
    """Whether the simulation may accept strategies itself (a setting for the simulation only)."""
    return bool(getattr(settings, "ETUDE_SIMULATION_AUTO_APPROVE", False))


def auto_approve(first_strategy, day_attempts, report, *, rng, share):
    """Put live, each with probability ``share``, the eligible strategies filed since
    ``first_strategy`` from ``day_attempts``; publish a release when any went live and count
    both on the DayReport."""
    candidates = (
        reflection.queue_ready_strategies()
        .filter(
            pk__gt=first_strategy,
            evidence_links__attempt__in=day_attempts,
            skill__sensitive=False,
            conflicts_with__isnull=True,
        )
        .distinct()
        .order_by("pk")
    )
    for strategy in candidates:
        if rng.random() < share:
            strategies.change_status(
                strategy,
                Strategy.Status.LIVE,
                actor=AUTO_APPROVER,
                reason=f"simulation day {report.number} ({report.date:%Y-%m-%d})",
            )
            report.approved += 1
    if report.approved:
        release = strategies.publish_release(
            actor=AUTO_APPROVER,
            note=f"simulation day {report.number} ({report.date:%Y-%m-%d}): "
            f"{report.approved} strategies auto-approved",
        )
        report.release = release.number
