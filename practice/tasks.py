"""Background work of the practice app. Each task is one call into a service and is safe to
run twice (the services are idempotent), so tasks are acknowledged late.

A reflection that failed for a passing reason (the coach endpoint timed out, could not be
reached, or answered 408/409/429/5xx after its own client retries; the database was busy) is
tried again with growing delays; one that failed for good (a garbage answer) stays failed,
visible on the operators' status page, which retries it through `retry_reflection`. A variant
the LLM coach is asked to write is retried the same way; a lasting failure stores nothing."""

import logging
import re
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.utils import timezone

from practice.coach.select import get_coach
from practice.models import Attempt, Reflection
from practice.scheduler import schedule_practice
from practice.services import competency, reflection, scenarios
from practice.services.errors import PracticeError

logger = logging.getLogger(__name__)

RELIABLE = {"acks_late": True, "reject_on_worker_lost": True}
# A lost connection, a failover, a lock wait that timed out: worth running the task again.
DATABASE_ERRORS = (OperationalError, InterfaceError)


@shared_task(bind=True, max_retries=None, **RELIABLE)
def process_new_attempts(self, attempt_ids):
    """Update competency in the order the attempts came, keep failures as replay scenarios,
    then queue one reflection each."""
    try:
        attempts = Attempt.objects.filter(pk__in=attempt_ids).select_related("skill", "agent")
        for attempt in sorted(attempts, key=lambda attempt: (attempt.created_at, attempt.pk)):
            competency.record_outcome(attempt)
            if not attempt.success:
                scenarios.replay_failed_attempt(attempt)
    except DATABASE_ERRORS as error:
        _retry_after_database_error(self, error)
        raise
    for attempt_id in attempt_ids:
        reflect_on_attempt.delay(attempt_id)


def _retry_after_database_error(task, error):
    """Queue the (idempotent) task again with back-off. Inline (eager) there is no queue: the
    caller re-raises, and beat's sweep picks the attempts up later."""
    retries = task.request.retries
    if task.request.is_eager or retries >= settings.ETUDE_REFLECTION_RETRIES:
        return
    logger.warning("%s: database error %r; retrying", task.name, error)
    raise task.retry(countdown=retry_delay(retries), exc=error)


# The errors practice.coach.endpoint and the reflection service write for failures that may pass.
TRANSIENT_ERRORS = re.compile(
    r"did not answer within|could not connect|answered HTTP (408|409|429|5\d\d)"
    r"|SoftTimeLimitExceeded|Storing the reflection failed: (OperationalError|InterfaceError)"
)


def is_transient(error):
    """True when a failed reflection's error says the failure may pass by itself."""
    return bool(TRANSIENT_ERRORS.search(error or ""))


def retry_delay(retries):
    """Seconds before retry number `retries` + 1: doubling from ETUDE_REFLECTION_RETRY_DELAY."""
    return min(
        settings.ETUDE_REFLECTION_RETRY_DELAY * 2**retries,
        settings.ETUDE_REFLECTION_RETRY_MAX_DELAY,
    )


@shared_task(bind=True, max_retries=None, **RELIABLE)
def reflect_on_attempt(self, attempt_id):
    retries = self.request.retries
    try:
        result = _retry_failed(attempt_id) if retries else reflection.reflect_attempt(attempt_id)
    except DATABASE_ERRORS as error:
        _retry_after_database_error(self, error)
        if not self.request.is_eager:
            raise
        # Inline, the caller's other attempts still deserve their turn; the sweep retries this.
        logger.warning("Reflection on attempt %s not started: %r", attempt_id, error)
        return None
    while _worth_retrying(result, retries):
        if not self.request.is_eager:
            raise self.retry(countdown=retry_delay(retries))
        # Run inline (tests, CELERY_TASK_ALWAYS_EAGER): there is no queue to wait in.
        retries += 1
        result = _retry_failed(attempt_id)
    return result.status if result is not None else None


def _worth_retrying(result, retries):
    return (
        result is not None
        and result.status == Reflection.Status.FAILED
        and is_transient(result.error)
        and retries < settings.ETUDE_REFLECTION_RETRIES
    )


def _retry_failed(attempt_id):
    coach = get_coach()
    failed = Reflection.objects.filter(
        attempt_id=attempt_id, coach_name=coach.name, coach_version=coach.version
    ).first()
    if failed is None:
        return reflection.reflect_attempt(attempt_id, coach=coach)
    return reflection.retry_reflection(failed, coach=coach)


@shared_task(**RELIABLE)
def retry_reflection(reflection_id):
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


@shared_task(bind=True, max_retries=None, **RELIABLE)
def write_scenario_variant(
    self, scenario_id, difficulty, request_key, requested_by="", unless_waiting=False
):
    """Write a requested variant (practice.services.scenarios.write_variant). A coach failure
    that may pass is tried again as a reflection's is; a lasting one is logged by the service
    and the task returns "failed". Returns "proposed", "exists" (an earlier run stored it),
    "skipped" (a proposed variant of the skill already waits) or "refused"."""
    retries = self.request.retries
    while True:
        try:
            variant, created = scenarios.write_variant(
                scenario_id,
                difficulty,
                request_key,
                requested_by=requested_by,
                unless_waiting=unless_waiting,
            )
        except scenarios.VariantError as error:
            if not is_transient(str(error)) or retries >= settings.ETUDE_REFLECTION_RETRIES:
                return "failed"
            if not self.request.is_eager:
                raise self.retry(countdown=retry_delay(retries), exc=error) from None
            retries += 1  # inline: there is no queue to wait in
            continue
        except PracticeError as refusal:
            logger.warning("Variant request %s refused: %s", request_key, refusal)
            return "refused"
        except DATABASE_ERRORS as error:
            _retry_after_database_error(self, error)
            raise
        if variant is None:
            return "skipped"
        return "proposed" if created else "exists"


@shared_task(**RELIABLE)
def schedule_practice_for_all():
    return len(schedule_practice())


@worker_process_init.connect
def prepare_coach(**kwargs):
    """A new worker process builds the configured coach before its first task: for an LLM
    coach that imports the openai package and sets up the process's client (half a second),
    which the first reflection would otherwise spend."""
    try:
        get_coach()
    except Exception:  # the first reflection meets the same problem and records it
        logger.exception("Preparing the coach failed")


def enqueue_after_commit(attempt_ids):
    """Hook run after an attempt request commits: hands the new attempts to the workers."""
    process_new_attempts.delay(list(attempt_ids))
