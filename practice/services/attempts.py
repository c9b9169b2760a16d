"""Recording task attempts with their traces: the one way attempts enter Etude, used by the
agent API and by importers of benchmark runs."""

import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, F
from django.utils import timezone
from psycopg import sql

from practice.attempt_input import (
    Problem,
    field_path,
    item_path,
    validate_attempt,
    validate_attempts,
)
from practice.models import (
    Attempt,
    PracticeAssignment,
    Strategy,
    StrategyUse,
    StrategyVersion,
    TraceStep,
)
from practice.services.errors import PracticeError
from taxonomy.models import Skill

logger = logging.getLogger(__name__)

ATTEMPT_BATCH_SIZE = 500
ROW_BATCH_SIZE = 2_000
TRACE_STEP_COLUMNS = (
    "attempt_id",
    "position",
    "action",
    "arguments",
    "expected",
    "actual",
    "ok",
    "note",
    "raw_message",
)

# Callables that receive the ids of newly stored attempts once their transaction has
# committed; background work (reflection, competency) is wired here without touching this module.
after_commit_hooks = []


class AttemptInputError(PracticeError):
    """Some attempts of a request are invalid; `problems` lists every (path, message)."""

    def __init__(self, problems):
        self.problems = list(problems)
        shown = "; ".join(
            f"{path}: {message}" if path else message for path, message in self.problems[:5]
        )
        more = f" (and {len(self.problems) - 5} more)" if len(self.problems) > 5 else ""
        super().__init__(f"Invalid attempts: {shown}{more}.")


class RecordedAttempt(NamedTuple):
    """A stored attempt and whether this call created it (False: a replay of an external_id)."""

    attempt: Attempt
    created: bool


@dataclass(frozen=True)
class IngestResult:
    items: list[RecordedAttempt]  # in the order of the request

    @property
    def created(self):
        return [attempt for attempt, created in self.items if created]

    @property
    def replayed(self):
        return [attempt for attempt, created in self.items if not created]


def record_attempts(agent, payloads, *, path_root="attempts"):
    """Store a list of attempt payloads all together or not at all (AttemptInputError lists
    every problem). Attempts whose external_id is already stored come back as replays."""
    attempts, problems = validate_attempts(payloads, path_root=path_root)
    if problems:
        raise AttemptInputError(problems)
    return _store_retrying_once(agent, attempts)


def record_attempt(agent, payload):
    """Store one attempt payload; returns (attempt, created)."""
    attempt, problems = validate_attempt(payload, path="")
    if problems:
        raise AttemptInputError(problems)
    return _store_retrying_once(agent, [attempt]).items[0]


def _store_retrying_once(agent, attempts):
    try:
        return _store(agent, attempts)
    except IntegrityError:
        # A concurrent request stored one of these external ids between our look-up and our
        # insert; the second pass finds it and returns it as a replay.
        return _store(agent, attempts)


def _store(agent, inputs):
    with transaction.atomic():
        replays = _stored_with_external_ids(agent, inputs)
        fresh = [attempt for attempt in inputs if attempt.external_id not in replays]
        skills, assignments, strategy_of_version = _resolve(agent, fresh)

        boundary_keys = list(agent.boundaries.values_list("key", flat=True))
        attempts = [_new_attempt(agent, attempt, skills, boundary_keys) for attempt in fresh]
        Attempt.objects.bulk_create(attempts, batch_size=ATTEMPT_BATCH_SIZE)
        _insert_rows(
            TraceStep,
            TRACE_STEP_COLUMNS,
            [
                (
                    attempt.pk,
                    position,
                    step.action,
                    step.arguments,
                    step.expected,
                    step.actual,
                    step.ok,
                    step.note,
                    step.raw_message,
                )
                for attempt, given in zip(attempts, fresh, strict=True)
                for position, step in enumerate(given.steps)
            ],
        )
        _record_strategy_uses(list(zip(fresh, attempts, strict=True)), strategy_of_version)
        _complete_assignments(list(zip(fresh, attempts, strict=True)), assignments)

        new_ids = [attempt.pk for attempt in attempts]
        if new_ids:
            transaction.on_commit(partial(_run_after_commit_hooks, new_ids))

    created = iter(attempts)
    return IngestResult(
        items=[
            RecordedAttempt(replays[given.external_id], False)
            if given.external_id in replays
            else RecordedAttempt(next(created), True)
            for given in inputs
        ]
    )


def _stored_with_external_ids(agent, inputs):
    external_ids = [attempt.external_id for attempt in inputs if attempt.external_id is not None]
    if not external_ids:
        return {}
    stored = (
        Attempt.objects.filter(agent=agent, external_id__in=external_ids)
        .select_related("skill")
        .annotate(step_count=Count("steps"))
    )
    for attempt in stored:
        attempt.agent = agent
    return {attempt.external_id: attempt for attempt in stored}


def _resolve(agent, inputs):
    """Skills by key, the agent's open assignments by scenario id and the strategy of each used
    version, in three queries; AttemptInputError for anything that does not resolve."""
    keys = {attempt.skill for attempt in inputs}
    skills = {skill.key: skill for skill in Skill.objects.filter(key__in=keys)}

    scenario_ids = {attempt.scenario for attempt in inputs if attempt.scenario is not None}
    assignments = {}
    if scenario_ids:
        open_assignments = (
            PracticeAssignment.objects.select_for_update(of=("self",))
            .filter(
                agent=agent,
                scenario_id__in=scenario_ids,
                status__in=[PracticeAssignment.Status.QUEUED, PracticeAssignment.Status.CLAIMED],
            )
            .annotate(scenario_skill_key=F("scenario__skill__key"))
        )
        assignments = {assignment.scenario_id: assignment for assignment in open_assignments}

    version_ids = {version for attempt in inputs for version in attempt.used_strategies}
    strategy_of_version = {}
    if version_ids:
        strategy_of_version = dict(
            StrategyVersion.objects.filter(id__in=version_ids).values_list("id", "strategy_id")
        )

    problems = []
    completed_by = {}
    for attempt in inputs:
        skill = skills.get(attempt.skill)
        if skill is None:
            problems.append(
                Problem(field_path(attempt.path, "skill"), f"unknown skill {attempt.skill}")
            )
        elif not skill.active:
            problems.append(
                Problem(field_path(attempt.path, "skill"), f"skill {attempt.skill} is deactivated")
            )
        if attempt.scenario is not None:
            problems.extend(_scenario_problems(attempt, assignments, completed_by))
        for index, version in enumerate(attempt.used_strategies):
            if version not in strategy_of_version:
                problems.append(
                    Problem(
                        item_path(field_path(attempt.path, "used_strategies"), index),
                        f"unknown strategy version {version}",
                    )
                )
    if problems:
        raise AttemptInputError(problems)
    return skills, assignments, strategy_of_version


def _scenario_problems(attempt, assignments, completed_by):
    path = field_path(attempt.path, "scenario")
    assignment = assignments.get(attempt.scenario)
    if assignment is None:
        return [Problem(path, f"scenario {attempt.scenario} is not assigned to this agent")]
    earlier = completed_by.setdefault(attempt.scenario, attempt.path)
    if earlier != attempt.path:
        return [Problem(path, f"scenario {attempt.scenario} is already completed by {earlier}")]
    if assignment.scenario_skill_key != attempt.skill:
        return [
            Problem(
                path,
                f"scenario {attempt.scenario} practices {assignment.scenario_skill_key}, "
                f"not {attempt.skill}",
            )
        ]
    return []


def _new_attempt(agent, given, skills, boundary_keys):
    skill = skills[given.skill]
    attempt = Attempt(
        agent=agent,
        skill=skill,
        source=given.source,
        scenario_id=given.scenario,
        external_id=given.external_id,
        success=given.success,
        score=given.score,
        difficulty=given.difficulty,
        task_input=given.task_input,
        expected_actions=(
            None
            if given.expected_actions is None
            else [
                {"name": action.name, "arguments": action.arguments}
                for action in given.expected_actions
            ]
        ),
        trace_format=given.trace_format,
        trace_messages=None if given.trace_messages is None else list(given.trace_messages),
        out_of_bounds=not any(skill.is_within(key) for key in boundary_keys),
    )
    attempt.step_count = len(given.steps)
    return attempt


def _record_strategy_uses(stored, strategy_of_version):
    """One StrategyUse per used version; the strategies' counters move by the outcome, except
    for out-of-bounds attempts, which are never learned from."""
    _insert_rows(
        StrategyUse,
        ("attempt_id", "strategy_version_id"),
        [(attempt.pk, version) for given, attempt in stored for version in given.used_strategies],
    )
    changes = defaultdict(lambda: [0, 0, 0])  # strategy id -> [uses, helpful, harmful]
    for given, attempt in stored:
        if attempt.out_of_bounds:
            continue
        for version in given.used_strategies:
            change = changes[strategy_of_version[version]]
            change[0] += 1
            change[1 if given.success else 2] += 1
    if not changes:
        return
    # Lock in id order first so two concurrent batches never wait on each other crosswise.
    list(
        Strategy.objects.select_for_update()
        .filter(id__in=changes)
        .order_by("id")
        .values_list("id", flat=True)
    )
    strategies_by_change = defaultdict(list)
    for strategy_id, change in changes.items():
        strategies_by_change[tuple(change)].append(strategy_id)
    for (uses, helpful, harmful), strategy_ids in strategies_by_change.items():
        Strategy.objects.filter(id__in=strategy_ids).update(
            use_count=F("use_count") + uses,
            helpful_count=F("helpful_count") + helpful,
            harmful_count=F("harmful_count") + harmful,
        )


def _complete_assignments(stored, assignments):
    now = timezone.now()
    completed = []
    for given, attempt in stored:
        if given.scenario is None:
            continue
        assignment = assignments[given.scenario]
        assignment.status = PracticeAssignment.Status.COMPLETED
        assignment.completed_at = now
        assignment.attempt = attempt
        completed.append(assignment)
    if completed:
        PracticeAssignment.objects.bulk_update(completed, ["status", "completed_at", "attempt"])


def _insert_rows(model, columns, rows):
    """Insert plain rows (tuples of the model's `columns`): with COPY on PostgreSQL, ten times
    faster than INSERT for the thousands of steps of a bulk request; bulk_create elsewhere."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(
            [model(**dict(zip(columns, row, strict=True))) for row in rows],
            batch_size=ROW_BATCH_SIZE,
        )
        return
    fields = [model._meta.get_field(column) for column in columns]
    json_positions = [
        position for position, field in enumerate(fields) if isinstance(field, models.JSONField)
    ]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table),
        sql.SQL(", ").join(sql.Identifier(field.column) for field in fields),
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for row in rows:
            if json_positions:
                row = list(row)
                for position in json_positions:
                    if row[position] is not None:
                        row[position] = json.dumps(row[position])
            copy.write_row(row)


def _run_after_commit_hooks(attempt_ids):
    for hook in list(after_commit_hooks):
        try:
            hook(list(attempt_ids))
        except Exception:
            # The attempts are committed; one failing hook must not keep the others from running.
            logger.exception("After-commit hook %r failed for attempts %s", hook, attempt_ids)
