"""Reading the trace of an attempt: a list of steps, or chat messages with their tool calls.

A `steps` trace is read step by step (with a fast path for steps that are already valid); a
`chat` trace is checked message by message, tool calls paired with their answers, and then
normalized into steps by `practice.traces.normalize_chat`. Problems are added to the caller's
list with their paths; the readers of plain values come from `values`.
"""

from typing import NamedTuple

from practice.attempt_input.values import (
    _MISSING,
    _boolean,
    _bounded_list,
    _json_object,
    _non_empty_text,
    _object,
    _optional,
    _plain_json,
    _storable,
    _storable_text,
    _text,
    _value,
    field_path,
    item_path,
)
from practice.models import TraceFormat
from practice.traces import Step, normalize_chat

MAX_STEPS = 500
MAX_MESSAGES = 1_000
MAX_STEP_TEXT_CHARS = 20_000

STEP_FIELDS = ("action", "expected", "actual", "ok", "note", "arguments")
STEPS_TRACE_FIELDS = ("format", "steps")
CHAT_TRACE_FIELDS = ("format", "messages")
MESSAGE_ROLES = ("system", "user", "assistant", "tool", "developer")
MESSAGE_FIELDS = ("role", "content", "tool_calls", "tool_call_id")
# Keys the OpenAI SDK puts on messages it returns; kept with the messages, not interpreted.
TOLERATED_MESSAGE_FIELDS = ("name", "refusal", "audio", "function_call", "annotations")
TOOL_CALL_FIELDS = ("id", "type", "function")
FUNCTION_FIELDS = ("name", "arguments")

_TRACE_FORMATS = frozenset(TraceFormat.values)


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
