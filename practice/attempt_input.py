"""Reading attempt payloads (plain data as decoded from JSON) into frozen inputs.

Every problem is collected as a `Problem(path, message)` whose path points into the request
(`attempts[3].trace.steps[2].ok`), so a caller can answer with all of them at once. An
optional field given as null counts as absent. Strings may not hold NUL characters or
unpaired surrogates, and free-form objects must be plain JSON: PostgreSQL could not store
them otherwise. Pure: no database access.
"""

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from practice.models import AttemptSource, TraceFormat
from practice.traces import Step, normalize_chat
from taxonomy.models import KEY_PATTERN

MAX_ATTEMPTS_PER_BATCH = 500
MAX_STEPS = 500
MAX_MESSAGES = 1_000
MAX_USED_STRATEGIES = 50
MAX_EXPECTED_ACTIONS = 500
MAX_EXTERNAL_ID_CHARS = 200
MAX_SKILL_KEY_CHARS = 200
MAX_TASK_INPUT_CHARS = 20_000
MAX_STEP_TEXT_CHARS = 20_000
MAX_ID = 2**63 - 1  # the largest id a BigAutoField holds

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
STEP_FIELDS = ("action", "expected", "actual", "ok", "note", "arguments")
STEPS_TRACE_FIELDS = ("format", "steps")
CHAT_TRACE_FIELDS = ("format", "messages")
MESSAGE_ROLES = ("system", "user", "assistant", "tool", "developer")
MESSAGE_FIELDS = ("role", "content", "tool_calls", "tool_call_id")
# Keys the OpenAI SDK puts on messages it returns; kept with the messages, not interpreted.
TOLERATED_MESSAGE_FIELDS = ("name", "refusal", "audio", "function_call", "annotations")
TOOL_CALL_FIELDS = ("id", "type", "function")
FUNCTION_FIELDS = ("name", "arguments")

_SKILL_KEY = re.compile(KEY_PATTERN)
_SURROGATE = re.compile("[\ud800-\udfff]")
_SOURCES = frozenset(AttemptSource.values)
_TRACE_FORMATS = frozenset(TraceFormat.values)
_MISSING = object()


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


def field_path(path, name):
    return f"{path}.{name}" if path else name


def item_path(path, index):
    return f"{path}[{index}]"


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


# --- traces -------------------------------------------------------------------------------------


class _Trace(NamedTuple):
    format: str | None = None
    steps: tuple = ()
    messages: tuple | None = None
    first_user_text: str = ""


def _trace(value, path, problems):
    if value is _MISSING:
        return _Trace()
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return _Trace()
    trace_format = value.get("format", _MISSING)
    if not isinstance(trace_format, str) or trace_format not in _TRACE_FORMATS:
        # Without a known format the fields cannot be read, only checked against both shapes.
        _object(value, path, problems, STEPS_TRACE_FIELDS + CHAT_TRACE_FIELDS[1:])
        message = (
            "is required"
            if trace_format is _MISSING
            else f"must be one of: {', '.join(TraceFormat.values)}"
        )
        problems.add(field_path(path, "format"), message)
        return _Trace()
    if trace_format == TraceFormat.STEPS:
        _object(value, path, problems, STEPS_TRACE_FIELDS)
        steps = _steps(
            _value(value, "steps", path, problems, required=True),
            field_path(path, "steps"),
            problems,
        )
        return _Trace(format=trace_format, steps=steps)
    _object(value, path, problems, CHAT_TRACE_FIELDS)
    messages_path = field_path(path, "messages")
    messages = _messages(
        _value(value, "messages", path, problems, required=True), messages_path, problems
    )
    if messages is None:
        return _Trace()
    chat = normalize_chat(messages)
    if len(chat.steps) > MAX_STEPS:
        problems.add(messages_path, f"make {len(chat.steps):,} steps; at most {MAX_STEPS:,}")
    return _Trace(
        format=trace_format,
        steps=chat.steps,
        messages=tuple(messages),
        first_user_text=chat.first_user_text,
    )


def _steps(value, path, problems):
    items = _bounded_list(value, path, problems, MAX_STEPS, "steps")
    if items is None:
        return ()
    steps = []
    for index, item in enumerate(items):
        step = _plain_step(item)
        if step is not None:
            steps.append(step)
            continue
        step_path = item_path(path, index)
        step = _object(item, step_path, problems, STEP_FIELDS)
        if step is None:
            continue

        def text(name, step=step, step_path=step_path):
            value = _value(step, name, step_path, problems)
            if value is _MISSING:
                return ""
            return _text(
                value, field_path(step_path, name), problems, max_chars=MAX_STEP_TEXT_CHARS
            )

        action = _non_empty_text(
            _value(step, "action", step_path, problems, required=True),
            field_path(step_path, "action"),
            problems,
            max_chars=MAX_STEP_TEXT_CHARS,
        )
        ok = _optional(
            _value(step, "ok", step_path, problems), _boolean, field_path(step_path, "ok"), problems
        )
        arguments = _optional(
            _value(step, "arguments", step_path, problems),
            _json_object,
            field_path(step_path, "arguments"),
            problems,
        )
        steps.append(
            Step(
                action=action,
                arguments=arguments,
                expected=text("expected"),
                actual=text("actual"),
                ok=ok,
                note=text("note"),
            )
        )
    return tuple(steps)


_STEP_FIELD_SET = frozenset(STEP_FIELDS)
_STEP_TEXT_FIELDS = ("expected", "actual", "note")


def _plain_step(item):
    """The step when `item` is a valid step, else None: the fast path for the common case, with
    no paths built; the rules below explain what is wrong with the others."""
    if type(item) is not dict or not _STEP_FIELD_SET.issuperset(item):
        return None
    action = item.get("action")
    if type(action) is not str or not action.strip() or not _plain_text(action):
        return None
    texts = []
    for name in _STEP_TEXT_FIELDS:
        text = item.get(name)
        if text is None:
            text = ""
        elif type(text) is not str or not _plain_text(text):
            return None
        texts.append(text)
    ok = item.get("ok")
    if ok is not None and type(ok) is not bool:
        return None
    arguments = item.get("arguments")
    if arguments is not None and (type(arguments) is not dict or not _plain_json(arguments)):
        return None
    expected, actual, note = texts
    return Step(
        action=action, arguments=arguments, expected=expected, actual=actual, ok=ok, note=note
    )


def _plain_text(text):
    return len(text) <= MAX_STEP_TEXT_CHARS and _storable_text(text)


def _storable_text(text):
    """False for text PostgreSQL cannot store: a NUL character or an unpaired surrogate."""
    # isascii() is a flag look-up in CPython: most text skips the search for surrogates.
    return "\x00" not in text and (text.isascii() or not _SURROGATE.search(text))


def _plain_json(value):
    kind = type(value)
    if kind is str:
        return _storable_text(value)
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str or not _storable_text(key) or not _plain_json(item):
                return False
        return True
    if kind is list:
        for item in value:
            if not _plain_json(item):
                return False
        return True
    if kind is float:
        return math.isfinite(value)
    return value is None or kind is bool or kind is int


def _messages(value, path, problems):
    """The message list when it is well formed (so it can be normalized), else None."""
    found_before = len(problems)
    items = _bounded_list(value, path, problems, MAX_MESSAGES, "messages")
    if items is None:
        return None
    tool_call_paths = {}
    answered = set()
    for index, item in enumerate(items):
        message_path = item_path(path, index)
        message = _object(item, message_path, problems, MESSAGE_FIELDS + TOLERATED_MESSAGE_FIELDS)
        if message is None:
            continue
        _message(message, message_path, problems, tool_call_paths, answered)
    return None if len(problems) > found_before else items


def _message(message, path, problems, tool_call_paths, answered):
    role = message.get("role", _MISSING)
    if role is _MISSING:
        problems.add(field_path(path, "role"), "is required")
        return
    if role not in MESSAGE_ROLES:
        problems.add(field_path(path, "role"), f"must be one of: {', '.join(MESSAGE_ROLES)}")
        return
    for name in TOLERATED_MESSAGE_FIELDS:
        if name in message:
            _storable(message[name], field_path(path, name), problems)
    for name in ("name", "refusal"):
        if message.get(name) is not None and not isinstance(message[name], str):
            problems.add(field_path(path, name), "must be a string")
    content_path = field_path(path, "content")
    content = message.get("content")
    if content is not None:
        _content(content, content_path, problems)
    if "tool_calls" in message and role != "assistant":
        problems.add(field_path(path, "tool_calls"), "only assistant messages have tool_calls")
    if "tool_call_id" in message and role != "tool":
        problems.add(field_path(path, "tool_call_id"), "only tool messages have tool_call_id")

    if role == "assistant":
        tool_calls = message.get("tool_calls")
        if tool_calls is not None:
            _tool_calls(tool_calls, field_path(path, "tool_calls"), problems, tool_call_paths)
        if content is None and not (
            tool_calls or message.get("refusal") or message.get("function_call")
        ):
            problems.add(content_path, "is required unless the message has tool_calls")
        return
    if content is None:
        problems.add(content_path, "is required")
    if role == "tool":
        id_path = field_path(path, "tool_call_id")
        call_id = _non_empty_text(
            _value(message, "tool_call_id", path, problems, required=True),
            id_path,
            problems,
            max_chars=None,
        )
        if call_id is None:
            return
        if call_id not in tool_call_paths:
            problems.add(id_path, f"answers no earlier tool call (no tool call has id {call_id})")
        elif call_id in answered:
            problems.add(id_path, f"answers tool call {call_id} a second time")
        answered.add(call_id)


def _content(content, path, problems):
    if isinstance(content, str):
        _text(content, path, problems, max_chars=None)
        return
    if not isinstance(content, list):
        problems.add(path, "must be a string, null or a list of content parts")
        return
    for index, part in enumerate(content):
        part_path = item_path(path, index)
        if not isinstance(part, dict) or not isinstance(part.get("type"), str):
            problems.add(part_path, "must be a content part: an object with a type")
            continue
        if part["type"] == "text" and not isinstance(part.get("text"), str):
            problems.add(field_path(part_path, "text"), "must be a string")
            continue
        _storable(part, part_path, problems)


def _tool_calls(value, path, problems, tool_call_paths):
    if not isinstance(value, list):
        problems.add(path, "must be a list of tool calls")
        return
    for index, item in enumerate(value):
        call_path = item_path(path, index)
        call = _object(item, call_path, problems, TOOL_CALL_FIELDS)
        if call is None:
            continue
        id_path = field_path(call_path, "id")
        call_id = _non_empty_text(
            _value(call, "id", call_path, problems, required=True),
            id_path,
            problems,
            max_chars=None,
        )
        if call_id is not None:
            earlier = tool_call_paths.setdefault(call_id, call_path)
            if earlier != call_path:
                problems.add(id_path, f"repeats the id of {earlier}")
        call_type = _value(call, "type", call_path, problems, required=True)
        if call_type is not _MISSING and call_type != "function":
            problems.add(field_path(call_path, "type"), 'must be "function"')
        function_path = field_path(call_path, "function")
        function = _value(call, "function", call_path, problems, required=True)
        if function is _MISSING:
            continue
        function = _object(function, function_path, problems, FUNCTION_FIELDS)
        if function is None:
            continue
        _non_empty_text(
            _value(function, "name", function_path, problems, required=True),
            field_path(function_path, "name"),
            problems,
            max_chars=MAX_STEP_TEXT_CHARS,
        )
        arguments = _value(function, "arguments", function_path, problems, required=True)
        # Arguments that are not valid JSON are kept raw by the normalization, not refused.
        if arguments is not _MISSING:
            _text(arguments, field_path(function_path, "arguments"), problems, max_chars=None)


# --- plain values -------------------------------------------------------------------------------


def _object(value, path, problems, fields):
    """The object at `path`, or None; every key outside `fields` is a problem of its own."""
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    for key in value:
        if key not in fields:
            problems.add(
                field_path(path, str(key)), f"unknown field; expected one of: {', '.join(fields)}"
            )
    return value


def _value(obj, name, path, problems, *, required=False):
    value = obj.get(name, _MISSING)
    if value is None and not required:
        return _MISSING
    if value is _MISSING and required:
        problems.add(field_path(path, name), "is required")
    return value


def _optional(value, read, path, problems):
    return None if value is _MISSING else read(value, path, problems)


def _bounded_list(value, path, problems, limit, what):
    if value is _MISSING:
        return None
    if not isinstance(value, list):
        problems.add(path, f"must be a list of {what}")
        return None
    if not value:
        problems.add(path, "must not be empty")
        return None
    if len(value) > limit:
        problems.add(path, f"has {len(value):,} {what}; at most {limit:,}")
        return None
    return value


def _boolean(value, path, problems):
    if value is _MISSING:
        return None
    if not isinstance(value, bool):
        problems.add(path, "must be true or false")
        return None
    return value


def _unit_number(value, path, problems):
    if value is _MISSING:
        return None
    # The comparison also refuses NaN and infinities, and works on integers of any size.
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        problems.add(path, "must be a number between 0 and 1")
        return None
    return float(value)


def _id(value, path, problems):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
        problems.add(path, "must be a positive integer id")
        return None
    return value


def _text(value, path, problems, *, max_chars):
    if not isinstance(value, str):
        problems.add(path, "must be a string")
        return None
    if max_chars is not None and len(value) > max_chars:
        problems.add(path, f"must be at most {max_chars:,} characters")
        return None
    if not _storable_text(value):
        problems.add(path, "must not contain NUL characters or unpaired surrogates")
        return None
    return value


def _non_empty_text(value, path, problems, *, max_chars):
    if value is _MISSING:
        return None
    text = _text(value, path, problems, max_chars=max_chars)
    if text is not None and not text.strip():
        problems.add(path, "must not be empty")
        return None
    return text


def _json_object(value, path, problems):
    if not isinstance(value, dict):
        problems.add(path, "must be an object")
        return None
    return value if _storable(value, path, problems) else None


def _storable(value, path, problems):
    """True when `value` is plain JSON that PostgreSQL can store; else reports where not."""
    if value is None or isinstance(value, bool | int):
        return True
    if isinstance(value, float):
        if math.isfinite(value):
            return True
        problems.add(path, "must be a finite number")
        return False
    if isinstance(value, str):
        return _text(value, path, problems, max_chars=None) is not None
    if isinstance(value, list):
        return all(
            [_storable(item, item_path(path, index), problems) for index, item in enumerate(value)]
        )
    if isinstance(value, dict):
        storable = True
        for key, item in value.items():
            if not isinstance(key, str) or not _storable_text(key):
                problems.add(path, f"has a key that cannot be stored: {key!r}")
                storable = False
            elif not _storable(item, field_path(path, key), problems):
                storable = False
        return storable
    problems.add(path, f"must be plain JSON, not {type(value).__name__}")
    return False
