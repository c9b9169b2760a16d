"""Background work of the practice app. Each task is one call into a service and is safe to
run twice (the services are idempotent), so tasks are acknowledged late."""

import logging
from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from practice.models import Attempt
from practice.scheduler import schedule_practice
from practice.services import competency, reflection, scenarios

logger = logging.getLogger(__name__)

RELIABLE = {"acks_late": True, "reject_on_worker_lost": True}


@shared_task(**RELIABLE)
def process_new_attempts(attempt_ids):
    """Update competency in the order the attempts came, keep failures as replay scenarios,
    then queue one reflection each."""
    attempts = Attempt.objects.filter(pk__in=attempt_ids).select_related("skill", "agent")
    for attempt in sorted(attempts, key=lambda attempt: (attempt.created_at, attempt.pk)):
        competency.record_outcome(attempt)
        if not attempt.success:
            scenarios.replay_failed_attempt(attempt)
    for attempt_id in attempt_ids:
        reflect_on_attempt.delay(attempt_id)


@shared_task(**RELIABLE)
def reflect_on_attempt(attempt_id):
    reflection.reflect_attempt(attempt_id)


@shared_task(**RELIABLE)
def retry_reflection(reflection_id):
    from practice.models import Reflection

    found = Reflection.objects.filter(pk=reflection_id).first()
    if found is not None:
        reflection.retry_reflection(found)


@shared_task(**RELIABLE)
def sweep_unreflected_attempts(older_than_minutes=10):
    """Re-queue attempts whose processing never started (broker down, lost message)."""
    cutoff = timezone.now() - timedelta(minutes=older_than_minutes)
    attempt_ids = reflection.reflections_to_sweep(cutoff)
    if attempt_ids:
        process_new_attempts.delay(attempt_ids)
        logger.info("Re-queued %d attempts without reflection", len(attempt_ids))
    return len(attempt_ids)


@shared_task(**RELIABLE)
def schedule_practice_for_all():
    return len(schedule_practice())


def enqueue_after_commit(attempt_ids):
    """Hook run after an attempt request commits: hands the new attempts to the workers."""
    process_new_attempts.delay(list(attempt_ids))
