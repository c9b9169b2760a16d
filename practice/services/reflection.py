"""Reflection: a coach reads a stored attempt, its findings become a Reflection, its candidate
strategies become proposed (or filtered) strategies or further evidence for existing ones, and
failure modes that keep coming back become taxonomy proposals.

Idempotent, so a redelivered or duplicated task is harmless: there is one reflection per attempt
and coach (name, version), enforced by a unique constraint. A worker claims the work by creating
that row (status running) or, under a row lock, by taking over one that was abandoned; every
other worker finds the row and does nothing. The coach runs outside any transaction (it may take
seconds); its result is stored in one transaction that first checks that the claim is still
this worker's (`tries` is the claim token), so a result that arrives after a takeover is
discarded instead of stored twice. Storing locks the skills it files strategies under, which
keeps two reflections on the same skill from both creating the same new strategy.
"""

import copy
import dataclasses
import logging
import re
import time
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from practice.coach.base import AttemptView, CoachError, CoachResult, StepView
from practice.coach.quality import quality_problems
from practice.coach.select import get_coach
from practice.coach.similarity import (
    is_conflict,
    is_duplicate,
    similarity,
    strategy_words,
    when_similarity,
)
from practice.models import Attempt, Reflection, Strategy, StrategyEvidence
from practice.services.strategies import propose_strategy
from taxonomy import services as taxonomy_services
from taxonomy.models import Skill, TaxonomyProposal

logger = logging.getLogger(__name__)

SWEEP_LIMIT = 500
MAX_ERROR_CHARS = 5_000
MAX_FAILURE_MODE_SLUG_CHARS = 60
MAX_DISCOVERY_EVIDENCE = 1_000
# Failure modes that name no particular failure; a taxonomy node for them would say nothing.
UNINFORMATIVE_FAILURE_MODES = frozenset({"none", "other", "unknown"})

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
        targets = _target_skills(attempt, result.strategies)
        _lock_skills({attempt.skill_id, *(skill.pk for skill in targets.values())})
        for candidate in result.strategies:
            skill = targets.get(candidate.skill_key, attempt.skill)
            _file_candidate(candidate, skill=skill, attempt=attempt, reflection=reflection)
        if not attempt.success and reflection.failure_mode:
            _discover_failure_mode(attempt, reflection)
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


# --- Taxonomy discovery ----------------------------------------------------------------------


def failure_mode_slug(failure_mode):
    """A failure mode as one skill key segment: lowercase, [a-z][a-z0-9_]*, at most 60
    characters; "" when nothing usable is left."""
    slug = re.sub(r"[^a-z0-9]+", "_", str(failure_mode or "").casefold()).strip("_")
    slug = re.sub(r"^[^a-z]+", "", slug)
    return slug[:MAX_FAILURE_MODE_SLUG_CHARS].rstrip("_")


def _discover_failure_mode(attempt, reflection):
    """File a taxonomy proposal for the reflection's failure mode under the attempt's skill
    once enough failed attempts show it, and only once per key."""
    slug = failure_mode_slug(reflection.failure_mode)
    if not slug or slug in UNINFORMATIVE_FAILURE_MODES:
        return None
    skill = attempt.skill
    key = f"{skill.key}.{slug}"
    if len(key) > Skill._meta.get_field("key").max_length:
        return None
    # A proposal first: once discovery has filed one, it is there whatever became of it.
    if TaxonomyProposal.objects.filter(key=key).exists() or Skill.objects.filter(key=key).exists():
        return None
    showing = Reflection.objects.filter(
        status=Status.SUCCEEDED,
        failure_mode=reflection.failure_mode,
        attempt__skill=skill,
        attempt__success=False,
        attempt__out_of_bounds=False,
    )
    evidence = sorted(set(showing.values_list("attempt_id", flat=True)[:MAX_DISCOVERY_EVIDENCE]))
    if len(evidence) < getattr(settings, "ETUDE_DISCOVERY_MIN_EVIDENCE", 3):
        return None
    fault_type, _ = Counter(showing.values_list("fault_type", flat=True)).most_common(1)[0]
    fault_label = Reflection.FaultType(fault_type).label.lower()
    try:
        # A savepoint: a refused proposal must not undo the reflection stored before it.
        with transaction.atomic():
            return taxonomy_services.propose_skill(
                parent=skill,
                key=key,
                name=slug.replace("_", " ").capitalize(),
                description=(
                    f'Failures on {skill.key} that reflection traced to "{reflection.failure_mode}".'
                ),
                rationale=(
                    f"{len(evidence)} failed attempts on {skill.key} were reflected on with the "
                    f'failure mode "{reflection.failure_mode}" (fault type: {fault_label}), '
                    "which no skill or failure mode in the taxonomy covers yet."
                ),
                kind=Skill.Kind.FAILURE_MODE,
                evidence=evidence,
                proposer_type=TaxonomyProposal.ProposerType.COACH,
                proposer_name=f"{reflection.coach_name} {reflection.coach_version}",
            )
    except (taxonomy_services.TaxonomyError, IntegrityError) as error:
        logger.info("No taxonomy proposal for %s: %s", key, error)
        return None


# --- Reads for the sweep and the review queue ------------------------------------------------


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


def queue_ready_strategies():
    """Proposed strategies with enough supporting attempts (ETUDE_MIN_SUPPORT) to be reviewed."""
    return Strategy.objects.filter(
        status=Strategy.Status.PROPOSED,
        support_count__gte=getattr(settings, "ETUDE_MIN_SUPPORT", 1),
    )
