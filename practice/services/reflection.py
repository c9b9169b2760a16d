"""Reflection: a coach reads a stored attempt and its findings become a Reflection. Storing them
also files the coach's candidate strategies (practice.services.candidates: proposed or filtered
strategies, or further evidence for existing ones) and proposes failure modes that keep coming
back for the taxonomy (practice.services.discovery). Callers import from here: the names those
modules make public are importable from this one too.

Idempotent, so a redelivered or duplicated task is harmless: there is one reflection per attempt
and coach (name, version), enforced by a unique constraint. A worker claims the work by creating
that row (status running) or, under a row lock, by taking over one that was abandoned; every
other worker finds the row and does nothing. The coach runs outside any transaction (it may take
seconds); its result is stored in one transaction that first checks that the claim is still
this worker's (`tries` is the claim token), so a result that arrives after a takeover is
discarded instead of stored twice.
"""

import copy
import dataclasses
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from practice.coach.base import AttemptView, CoachError, CoachResult, StepView
from practice.coach.select import get_coach
from practice.models import Attempt, Reflection
from practice.services.candidates import file_candidates, queue_ready_strategies
from practice.services.discovery import (
    MAX_DISCOVERY_EVIDENCE,
    MAX_FAILURE_MODE_SLUG_CHARS,
    UNINFORMATIVE_FAILURE_MODES,
    discover_failure_mode,
    failure_mode_slug,
)

__all__ = [
    "MAX_DISCOVERY_EVIDENCE",
    "MAX_ERROR_CHARS",
    "MAX_FAILURE_MODE_SLUG_CHARS",
    "SWEEP_LIMIT",
    "UNINFORMATIVE_FAILURE_MODES",
    "Status",
    "attempt_view",
    "failure_mode_slug",
    "queue_ready_strategies",
    "reflect_attempt",
    "reflections_to_sweep",
    "retry_reflection",
]

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 500
MAX_ERROR_CHARS = 5_000

Status = Reflection.Status


# --- Running the coach -----------------------------------------------------------------------


def reflect_attempt(attempt_id, *, coach=None):
    """Reflect on one stored attempt with `coach` (the configured one by default), once per
    coach version. Returns the reflection as it stands (an earlier one untouched), or None for
    an unknown or out-of-bounds attempt. Never raises for a coach failure: the reflection is
    marked failed with the error, and only `retry_reflection` runs it again."""
    coach = coach or get_coach()
    # The coach reads the normalized steps; the raw chat messages stay in the database.
    found = Attempt.objects.select_related("skill").defer("trace_messages").filter(pk=attempt_id)
    attempt = next(iter(found), None)
    if attempt is None or attempt.out_of_bounds:
        return None
    reflection, claimed = _claim(attempt, coach)
    if not claimed:
        return reflection
    return _run(reflection, attempt, coach)


def retry_reflection(reflection, *, coach=None):
    """Run a failed reflection again. A reflection that is not failed (a retry already ran) is
    returned unchanged; when the coach is now another one (name or version), the attempt is
    reflected on by that coach instead and the failed reflection stays as it was."""
    coach = coach or get_coach()
    if (reflection.coach_name, reflection.coach_version) != (coach.name, coach.version):
        return reflect_attempt(reflection.attempt_id, coach=coach)
    with transaction.atomic():
        reflection = (
            Reflection.objects.select_for_update(of=("self",))
            .select_related("attempt__skill")
            .defer("attempt__trace_messages")
            .get(pk=reflection.pk)
        )
        if reflection.status != Status.FAILED or reflection.attempt.out_of_bounds:
            return reflection
        _start(reflection, timezone.now())
    return _run(reflection, reflection.attempt, coach)


def attempt_view(attempt):
    """The attempt and its steps, in order, as the coach reads them."""
    rows = attempt.steps.order_by("position").values_list(*_STEP_FIELDS)
    steps = [StepView(*row) for row in rows]
    return AttemptView(
        attempt_id=attempt.pk,
        skill_key=attempt.skill.key,
        success=attempt.success,
        score=attempt.score,
        task_input=attempt.task_input,
        expected_actions=attempt.expected_actions,
        steps=steps,
    )


# A trace step's columns that the coach reads, in StepView's order.
_STEP_FIELDS = tuple(field.name for field in dataclasses.fields(StepView))


def _claim(attempt, coach):
    """(reflection, True) when this worker now owns the reflection, (reflection, False) when
    another one has it or it is already done (succeeded, or failed and waiting for a retry)."""
    now = timezone.now()
    identity = {"attempt": attempt, "coach_name": coach.name, "coach_version": coach.version}
    try:
        # Nearly always the first worker: insert at once. A concurrent insert of the same row
        # waits on the unique index, then fails: only one worker ever creates it. The atomic
        # block is a savepoint inside a caller's transaction, which a conflict must not abort.
        with transaction.atomic():
            created = Reflection.objects.create(
                **identity, status=Status.RUNNING, tries=1, started_at=now
            )
        return created, True
    except IntegrityError as error:
        conflict = error
    with transaction.atomic():
        reflection = Reflection.objects.select_for_update().filter(**identity).first()
        if reflection is None:  # the insert broke some other rule
            raise conflict
        if reflection.status == Status.PENDING or (
            reflection.status == Status.RUNNING and _abandoned(reflection, now)
        ):
            _start(reflection, now)
            return reflection, True
        return reflection, False


def _start(reflection, now):
    reflection.status = Status.RUNNING
    reflection.tries += 1
    reflection.started_at = now
    reflection.finished_at = None
    reflection.error = ""
    reflection.save(update_fields=["status", "tries", "started_at", "finished_at", "error"])


def _abandoned(reflection, now):
    """A running reflection whose worker has had far longer than any coach call takes."""
    return reflection.started_at is None or reflection.started_at < now - _stale_after()


def _stale_after():
    return timedelta(minutes=getattr(settings, "ETUDE_REFLECTION_STALE_MINUTES", 30))


def _run(reflection, attempt, coach):
    view = attempt_view(attempt)
    started = time.monotonic()
    try:
        result = coach.reflect(view)
        if not isinstance(result, CoachResult):
            raise CoachError(f"the coach answered {type(result).__name__}, not a CoachResult")
    except Exception as error:  # whatever the coach does, the worker survives it
        return _fail(reflection, _error_text(error))
    elapsed_ms = round((time.monotonic() - started) * 1000)
    try:
        return _store(reflection, attempt, result, elapsed_ms)
    except Exception as error:
        logger.exception("Storing the reflection on attempt %s failed", attempt.pk)
        return _fail(reflection, f"Storing the reflection failed: {_error_text(error)}")


def _fail(claimed, error):
    with transaction.atomic():
        reflection = Reflection.objects.select_for_update().get(pk=claimed.pk)
        if not _still_claimed(reflection, claimed):
            return reflection
        reflection.status = Status.FAILED
        reflection.error = error[:MAX_ERROR_CHARS]
        reflection.finished_at = timezone.now()
        reflection.save(update_fields=["status", "error", "finished_at"])
    logger.warning(
        "Reflection %s on attempt %s failed: %s", reflection.pk, reflection.attempt_id, error
    )
    return reflection


def _still_claimed(reflection, claimed):
    """False when another worker took the reflection over since `claimed` was read."""
    return reflection.status == Status.RUNNING and reflection.tries == claimed.tries


def _error_text(error):
    if isinstance(error, CoachError):
        return str(error.message).strip() or type(error).__name__
    detail = str(error).strip()
    return f"{type(error).__name__}: {detail}" if detail else type(error).__name__


# --- Storing what the coach found ------------------------------------------------------------


def _store(claimed, attempt, result, elapsed_ms):
    """The reflection's fields, its candidate strategies and any taxonomy proposal, in one
    transaction; nothing when the claim was lost to another worker meanwhile."""
    reflection = _filled(claimed, result, elapsed_ms)
    with transaction.atomic():
        # Checks the claim and locks the row in one statement: a takeover since the claim
        # changed `tries` (or the status), and then nothing is stored.
        stored = Reflection.objects.filter(
            pk=claimed.pk, status=Status.RUNNING, tries=claimed.tries
        ).update(**{name: getattr(reflection, name) for name in _RESULT_FIELDS})
        if not stored:
            return Reflection.objects.get(pk=claimed.pk)
        file_candidates(result.strategies, attempt=attempt, reflection=reflection)
        if not attempt.success and reflection.failure_mode:
            discover_failure_mode(attempt, reflection)
    return reflection


# What storing a coach's result writes on the reflection row.
_RESULT_FIELDS = (
    "status",
    "performance_trace",
    "decision_points",
    "fault_author",
    "fault_type",
    "causal_analysis",
    "failure_mode",
    "model",
    "prompt_version",
    "prompt_tokens",
    "completion_tokens",
    "latency_ms",
    "raw_output",
    "error",
    "finished_at",
)


def _filled(claimed, result, elapsed_ms):
    """A copy of the claimed reflection with the coach's result in it, not yet stored."""
    reflection = copy.copy(claimed)
    reflection.status = Status.SUCCEEDED
    reflection.performance_trace = list(result.performance_trace)
    reflection.decision_points = [_as_data(point) for point in result.decision_points]
    reflection.fault_author = result.fault_author
    reflection.fault_type = result.fault_type
    reflection.causal_analysis = result.causal_analysis
    reflection.failure_mode = _fit("failure_mode", result.failure_mode)
    reflection.model = _fit("model", result.model)
    reflection.prompt_version = _fit("prompt_version", result.prompt_version)
    reflection.prompt_tokens = _count(result.prompt_tokens)
    reflection.completion_tokens = _count(result.completion_tokens)
    latency = _count(result.latency_ms)
    reflection.latency_ms = elapsed_ms if latency is None else latency
    reflection.raw_output = result.raw_output or ""
    reflection.error = ""
    reflection.finished_at = timezone.now()
    return reflection


def _as_data(point):
    return dataclasses.asdict(point) if dataclasses.is_dataclass(point) else dict(point)


def _fit(field_name, value):
    return str(value or "")[: Reflection._meta.get_field(field_name).max_length]


def _count(value):
    return value if isinstance(value, int) and value >= 0 else None


# --- Reads for the sweep ---------------------------------------------------------------------


def reflections_to_sweep(older_than, *, coach=None, limit=SWEEP_LIMIT):
    """Ids of in-bounds attempts stored before `older_than` (a time, or a timedelta before now)
    that the current coach has not reflected on: no reflection at all, or one abandoned while
    running. Oldest first, at most `limit`."""
    coach = coach or get_coach()
    now = timezone.now()
    if isinstance(older_than, timedelta):
        older_than = now - older_than
    reflections = Reflection.objects.filter(
        attempt=OuterRef("pk"), coach_name=coach.name, coach_version=coach.version
    )
    abandoned = reflections.filter(
        Q(status=Status.PENDING)
        | Q(status=Status.RUNNING)
        & (Q(started_at__isnull=True) | Q(started_at__lt=now - _stale_after()))
    )
    return list(
        Attempt.objects.filter(created_at__lt=older_than, out_of_bounds=False)
        .filter(~Exists(reflections) | Exists(abandoned))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
