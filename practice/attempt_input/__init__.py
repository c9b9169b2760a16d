"""Reading attempt payloads (plain data as decoded from JSON) into frozen inputs.

Every problem is collected as a `Problem(path, message)` whose path points into the request
(`attempts[3].trace.steps[2].ok`), so a caller can answer with all of them at once. An
optional field given as null counts as absent. Strings may not hold NUL characters or
unpaired surrogates, and free-form objects must be plain JSON: PostgreSQL could not store
them otherwise. Pure: no database access.

What lives where:
- this module: the public API (`validate_attempts`, `validate_attempt`, `Problem`,
  `AttemptInput`, `ExpectedAction`, the limits) and the reader of one attempt's own fields;
- `trace`: the trace of an attempt, as steps or as chat messages with their tool calls, and
  the limits and field names of those shapes;
- `values`: the small readers of plain values (objects, numbers, ids, text, JSON) that both
  build on, and the paths (`field_path`, `item_path`) problems are reported at.
"""

import re
from dataclasses import dataclass, field
from typing import NamedTuple

from practice.attempt_input.trace import (
    CHAT_TRACE_FIELDS,
    FUNCTION_FIELDS,
    MAX_MESSAGES,
    MAX_STEP_TEXT_CHARS,
    MAX_STEPS,
    MESSAGE_FIELDS,
    MESSAGE_ROLES,
    STEP_FIELDS,
    STEPS_TRACE_FIELDS,
    TOLERATED_MESSAGE_FIELDS,
    TOOL_CALL_FIELDS,
    _trace,
)
from practice.attempt_input.values import (
    _MISSING,
    MAX_ID,
    _boolean,
    _id,
    _json_object,
    _non_empty_text,
    _object,
    _optional,
    _text,
    _unit_number,
    _value,
    field_path,
    item_path,
)
from practice.models import AttemptSource
from practice.traces import Step
from taxonomy.models import KEY_PATTERN

__all__ = [
    "ATTEMPT_FIELDS",
    "CHAT_TRACE_FIELDS",
    "EXPECTED_ACTION_FIELDS",
    "FUNCTION_FIELDS",
    "MAX_ATTEMPTS_PER_BATCH",
    "MAX_EXPECTED_ACTIONS",
    "MAX_EXTERNAL_ID_CHARS",
    "MAX_ID",
    "MAX_MESSAGES",
    "MAX_SKILL_KEY_CHARS",
    "MAX_STEPS",
    "MAX_STEP_TEXT_CHARS",
    "MAX_TASK_INPUT_CHARS",
    "MAX_USED_STRATEGIES",
    "MESSAGE_FIELDS",
    "MESSAGE_ROLES",
    "STEPS_TRACE_FIELDS",
    "STEP_FIELDS",
    "TOLERATED_MESSAGE_FIELDS",
    "TOOL_CALL_FIELDS",
    "AttemptInput",
    "ExpectedAction",
    "Problem",
    "field_path",
    "item_path",
    "read_expected_actions",
    "validate_attempt",
    "validate_attempts",
]

MAX_ATTEMPTS_PER_BATCH = 500
MAX_USED_STRATEGIES = 50
MAX_EXPECTED_ACTIONS = 500
MAX_EXTERNAL_ID_CHARS = 200
MAX_SKILL_KEY_CHARS = 200
MAX_TASK_INPUT_CHARS = 20_000

ATTEMPT_FIELDS = (
    "skill",
    "source",
    "scenario",
    "success",
    "score",
    "difficulty",
    "used_strategies",
    "external_id",
    "task_input",
    "expected_actions",
    "trace",
)
EXPECTED_ACTION_FIELDS = ("name", "arguments")

_SKILL_KEY = re.compile(KEY_PATTERN)
_SOURCES = frozenset(AttemptSource.values)


class Problem(NamedTuple):
    path: str
    message: str


@dataclass(frozen=True)
class ExpectedAction:
    name: str
    arguments: dict


@dataclass(frozen=True)
class AttemptInput:
    """One valid attempt, its trace already read as steps."""

    skill: str
    success: bool
    score: float
    trace_format: str
    steps: tuple[Step, ...]
    source: str = AttemptSource.LIVE.value
    scenario: int | None = None
    difficulty: float | None = None
    used_strategies: tuple[int, ...] = ()
    external_id: str | None = None
    task_input: str = ""
    expected_actions: tuple[ExpectedAction, ...] | None = None
    trace_messages: tuple[dict, ...] | None = None
    # Where the attempt sat in the request, to place problems found later.
    path: str = field(default="", compare=False)


def validate_attempts(payloads, *, path_root="attempts"):
    """(attempts, problems) for a list of attempt payloads; attempts is empty when any
    problem was found."""
    problems = _Problems()
    if not isinstance(payloads, list):
        problems.add(path_root, "must be a list of attempts")
        return [], list(problems)
    if not payloads:
        problems.add(path_root, "must contain at least one attempt")
    if len(payloads) > MAX_ATTEMPTS_PER_BATCH:
        problems.add(
            path_root,
            f"has {len(payloads):,} attempts; at most {MAX_ATTEMPTS_PER_BATCH:,} per request",
        )
        return [], list(problems)
    attempts = []
    first_path_of_external_id = {}
    for index, payload in enumerate(payloads):
        path = item_path(path_root, index)
        attempts.append(_read_attempt(payload, path, problems))
        external_id = payload.get("external_id") if isinstance(payload, dict) else None
        if isinstance(external_id, str) and external_id.strip():
            earlier = first_path_of_external_id.setdefault(external_id, path)
            if earlier != path:
                problems.add(
                    field_path(path, "external_id"), f"repeats the external_id of {earlier}"
                )
    return ([] if problems else attempts), list(problems)


def validate_attempt(payload, *, path=""):
    """(attempt, problems) for one attempt payload; attempt is None when any problem was found."""
    problems = _Problems()
    attempt = _read_attempt(payload, path, problems)
    return (None if problems else attempt), list(problems)


class _Problems(list):
    def add(self, path, message):
        self.append(Problem(path, message))


def _read_attempt(payload, path, problems):
    found_before = len(problems)
    attempt = _object(payload, path, problems, ATTEMPT_FIELDS)
    if attempt is None:
        return None

    def value_of(name, required=False):
        return _value(attempt, name, path, problems, required=required)

    skill = _skill_key(value_of("skill", required=True), field_path(path, "skill"), problems)
    scenario = _optional(value_of("scenario"), _id, field_path(path, "scenario"), problems)
    source = _source(value_of("source"), field_path(path, "source"), problems, scenario)
    success = _boolean(value_of("success", required=True), field_path(path, "success"), problems)
    score = _unit_number(value_of("score", required=True), field_path(path, "score"), problems)
    difficulty = _optional(
        value_of("difficulty"), _unit_number, field_path(path, "difficulty"), problems
    )
    used_strategies = _optional(
        value_of("used_strategies"),
        _used_strategies,
        field_path(path, "used_strategies"),
        problems,
    )
    external_id = _optional(
        value_of("external_id"), _external_id, field_path(path, "external_id"), problems
    )
    task_input = _optional(
        value_of("task_input"),
        lambda value, at, found: _text(value, at, found, max_chars=MAX_TASK_INPUT_CHARS),
        field_path(path, "task_input"),
        problems,
    )
    expected_actions = _optional(
        value_of("expected_actions"),
        _expected_actions,
        field_path(path, "expected_actions"),
        problems,
    )
    trace = _trace(value_of("trace", required=True), field_path(path, "trace"), problems)

    if len(problems) > found_before:
        return None
    return AttemptInput(
        skill=skill,
        success=success,
        score=score,
        trace_format=trace.format,
        steps=trace.steps,
        source=source,
        scenario=scenario,
        difficulty=difficulty,
        used_strategies=used_strategies or (),
        external_id=external_id,
        task_input=task_input or trace.first_user_text,
        expected_actions=expected_actions,
        trace_messages=trace.messages,
        path=path,
    )


# --- fields of an attempt -----------------------------------------------------------------------


def _skill_key(value, path, problems):
    if value is _MISSING:
        return None
    if (
        not isinstance(value, str)
        or len(value) > MAX_SKILL_KEY_CHARS
        or not _SKILL_KEY.fullmatch(value)
    ):
        problems.add(path, "must be a dotted skill key such as support.intent.ambiguity")
        return None
    return value


def _source(value, path, problems, scenario):
    if value is _MISSING:
        # An attempt on a practice scenario is practice unless the agent says otherwise.
        return (AttemptSource.PRACTICE if scenario is not None else AttemptSource.LIVE).value
    if not isinstance(value, str) or value not in _SOURCES:
        problems.add(path, f"must be one of: {', '.join(AttemptSource.values)}")
        return None
    if scenario is not None and value != AttemptSource.PRACTICE:
        problems.add(path, "must be practice when a scenario is given")
    return value


def _used_strategies(value, path, problems):
    if not isinstance(value, list):
        problems.add(path, "must be a list of strategy version ids")
        return None
    if len(value) > MAX_USED_STRATEGIES:
        problems.add(path, f"has {len(value)} items; at most {MAX_USED_STRATEGIES}")
        return None
    ids = []
    for index, item in enumerate(value):
        version_id = _id(item, item_path(path, index), problems)
        if version_id is None:
            continue
        if version_id in ids:
            problems.add(item_path(path, index), f"repeats strategy version {version_id}")
        ids.append(version_id)
    return tuple(ids)


def _external_id(value, path, problems):
    text = _text(value, path, problems, max_chars=MAX_EXTERNAL_ID_CHARS)
    if text is not None and not text.strip():
        problems.add(path, "must not be empty")
        return None
    return text


def read_expected_actions(value, path="expected_actions"):
    """Expected actions read by the rules an attempt's are read by: ``(actions, problems)``.
    Without problems, the actions as stored (a list of ``{"name", "arguments"}``, arguments
    ``{}`` when absent) and ``[]``; otherwise None and every Problem found."""
    problems = _Problems()
    actions = _expected_actions(value, path, problems)
    if problems:
        return None, list(problems)
    return [{"name": action.name.strip(), "arguments": action.arguments} for action in actions], []


def _expected_actions(value, path, problems):
    if not isinstance(value, list):
        problems.add(path, "must be a list of actions")
        return None
    if len(value) > MAX_EXPECTED_ACTIONS:
        problems.add(path, f"has {len(value):,} actions; at most {MAX_EXPECTED_ACTIONS:,}")
        return None
    actions = []
    for index, item in enumerate(value):
        action_path = item_path(path, index)
        action = _object(item, action_path, problems, EXPECTED_ACTION_FIELDS)
        if action is None:
            continue
        name = _non_empty_text(
            _value(action, "name", action_path, problems, required=True),
            field_path(action_path, "name"),
            problems,
            max_chars=MAX_STEP_TEXT_CHARS,
        )
        arguments = _optional(
            _value(action, "arguments", action_path, problems),
            _json_object,
            field_path(action_path, "arguments"),
            problems,
        )
        actions.append(ExpectedAction(name=name, arguments=arguments or {}))
    return tuple(actions)
