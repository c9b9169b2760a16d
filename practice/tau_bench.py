"""Reading the results file of the tau-bench benchmark (sierra-research/tau-bench) into attempt
payloads for `practice.services.attempts.record_attempts`. Pure: no database access.

tau-bench's `run.py` writes `[EnvRunResult.model_dump(), ...]`: one object per run with
`task_id`, `trial`, `reward`, `info` (the `EnvInfo` dump: `task` with `user_id`, `actions`
[{name, kwargs}], `instruction` and `outputs`, plus `source`, `user_cost`, `reward_info`) and
`traj`, the agent's OpenAI chat messages as litellm dumped them. A run that crashed is written
with `info` = {"error", "traceback"} and an empty `traj`.
"""

import json
import math
from dataclasses import dataclass

from practice.attempt_input import (
    FUNCTION_FIELDS,
    MESSAGE_FIELDS,
    TOLERATED_MESSAGE_FIELDS,
    TOOL_CALL_FIELDS,
)
from practice.models import AttemptSource, TraceFormat

# tau-bench counts a run as solved when its reward is 1; allow for float noise in the sum.
SUCCESS_REWARD = 0.999
EXTERNAL_ID_PREFIX = "tau-bench"
_KEPT_MESSAGE_FIELDS = frozenset(MESSAGE_FIELDS + TOLERATED_MESSAGE_FIELDS)
_SHOWN_ERROR_CHARS = 200
_MISSING = object()


class ResultsFileError(ValueError):
    """The text is not a tau-bench results file at all; the message says why."""


class RunNotConvertible(ValueError):
    """One run cannot be read as an attempt; the message says why."""


@dataclass(frozen=True)
class RunReference:
    """Where a run sits in the results file, to name it in a report."""

    position: int  # 1-based
    task_id: object = None
    trial: object = None

    def __str__(self):
        if _is_integer(self.task_id) and _is_integer(self.trial):
            return f"run #{self.position} (task_id {self.task_id}, trial {self.trial})"
        return f"run #{self.position}"


def read_results(text):
    """The list of runs a results file holds; ResultsFileError when it is not JSON or not a list."""
    try:
        runs = json.loads(text)
    except json.JSONDecodeError as error:
        raise ResultsFileError(
            f"not JSON (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    if not isinstance(runs, list):
        raise ResultsFileError(f"expected a JSON list of tau-bench runs, found {_kind(runs)}")
    return runs


def reference_of(run, position):
    if not isinstance(run, dict):
        return RunReference(position)
    return RunReference(position, run.get("task_id"), run.get("trial"))


def external_id(task_id, trial):
    return f"{EXTERNAL_ID_PREFIX}:{task_id}:{trial}"


def attempt_payload(run, *, skill_key):
    """The attempt payload of one run (a live attempt on `skill_key`); RunNotConvertible when
    the run lacks what an attempt needs. Field types deeper down are left to the validator."""
    if not isinstance(run, dict):
        raise RunNotConvertible(f"must be an object (found {_kind(run)})")
    task_id = _required_integer(run, "task_id")
    trial = _required_integer(run, "trial")
    reward = run.get("reward", _MISSING)
    if isinstance(reward, bool) or not isinstance(reward, int | float) or not math.isfinite(reward):
        raise RunNotConvertible(f"reward must be a number (found {_kind(reward)})")
    task = _task(run.get("info", _MISSING))
    traj = run.get("traj", _MISSING)
    if not isinstance(traj, list):
        raise RunNotConvertible(f"traj must be a list of chat messages (found {_kind(traj)})")
    if not traj:
        raise RunNotConvertible("traj is empty: the run recorded no messages")
    return {
        "skill": skill_key,
        "source": AttemptSource.LIVE.value,
        "success": reward >= SUCCESS_REWARD,
        "score": float(min(max(reward, 0.0), 1.0)),
        "external_id": external_id(task_id, trial),
        "task_input": task["instruction"],
        "expected_actions": [
            {"name": action["name"], "arguments": action["kwargs"]} for action in task["actions"]
        ],
        "trace": {"format": TraceFormat.OPENAI_CHAT.value, "messages": chat_messages(traj)},
    }


def chat_messages(traj):
    """The trajectory as messages our validator reads: keys it does not know (litellm extras such
    as provider_specific_fields or reasoning_content) and empty extras dropped, and tool call ids
    made unique. Anything that is not a message is left for the validator to point at."""
    renamed = _ToolCallIds()
    messages = []
    for message in traj:
        if not isinstance(message, dict):
            messages.append(message)
            continue
        kept = {
            key: value
            for key, value in message.items()
            if key in _KEPT_MESSAGE_FIELDS and (value is not None or key == "content")
        }
        if isinstance(kept.get("tool_calls"), list):
            kept["tool_calls"] = [renamed.call(call) for call in kept["tool_calls"]]
        if isinstance(kept.get("tool_call_id"), str):
            kept["tool_call_id"] = renamed.answer(kept["tool_call_id"])
        messages.append(kept)
    return messages


class _ToolCallIds:
    """Some models repeat a tool call id within one conversation; tau-bench does not mind, as it
    answers each call in the very next message. A repeated id gets a suffix (`call_x~2`) in the
    call and in the result that answers it, so every result still names one call."""

    def __init__(self):
        self.used = set()
        self.current = {}

    def call(self, call):
        if not isinstance(call, dict):
            return call
        kept = {key: value for key, value in call.items() if key in TOOL_CALL_FIELDS}
        if isinstance(kept.get("function"), dict):
            kept["function"] = {
                key: value for key, value in kept["function"].items() if key in FUNCTION_FIELDS
            }
        call_id = kept.get("id")
        if isinstance(call_id, str) and call_id:
            unique = call_id
            number = 1
            while unique in self.used:
                number += 1
                unique = f"{call_id}~{number}"
            self.used.add(unique)
            self.current[call_id] = unique
            kept["id"] = unique
        return kept

    def answer(self, call_id):
        return self.current.get(call_id, call_id)


def _task(info):
    if not isinstance(info, dict):
        raise RunNotConvertible(f"info must be an object (found {_kind(info)})")
    if "task" not in info and "error" in info:
        error = str(info["error"]).strip().splitlines() or [""]
        shown = error[0][:_SHOWN_ERROR_CHARS]
        raise RunNotConvertible(f"tau-bench recorded an error instead of a result: {shown}")
    task = info.get("task", _MISSING)
    if not isinstance(task, dict):
        raise RunNotConvertible(f"info.task must be an object (found {_kind(task)})")
    if not isinstance(task.get("instruction"), str):
        raise RunNotConvertible("info.task.instruction must be a string")
    actions = task.get("actions", _MISSING)
    if not isinstance(actions, list):
        raise RunNotConvertible(f"info.task.actions must be a list (found {_kind(actions)})")
    for index, action in enumerate(actions):
        at = f"info.task.actions[{index}]"
        if not isinstance(action, dict):
            raise RunNotConvertible(f"{at} must be an object with name and kwargs")
        if not isinstance(action.get("name"), str):
            raise RunNotConvertible(f"{at}.name must be a string")
        if not isinstance(action.get("kwargs"), dict):
            raise RunNotConvertible(f"{at}.kwargs must be an object")
    return task


def _required_integer(run, name):
    value = run.get(name, _MISSING)
    if not _is_integer(value) or value < 0:
        raise RunNotConvertible(f"{name} must be a non-negative integer (found {_kind(value)})")
    return value


def _is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _kind(value):
    """What a decoded JSON value is, in words, for a message."""
    if value is _MISSING:
        return "nothing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
