"""What a simulated agent reports: the task it got and the attempt payload with its trace.

A payload is exactly what an agent would POST to /api/v1/attempts/. Its trace is realistic
enough for the offline trace-diff coach to find something specific in a failure:

- a task with expected actions (the tools, policy-with-tools and escalation skills) gets an
  OpenAI chat trace or a steps trace of tool calls. A success makes the expected calls; a
  failure makes one mistake: a wrong argument value (a transposed order id, an extra item, another
  payment method, ...), a wrong tool (a return for an exchange), a missing action (no transfer
  to a person), or a write nobody asked for (when the task needs none, or needs confirmation
  first);
- a task without expected actions (intent, explaining, tone, ...) gets a steps trace whose
  decisive step says what was expected and what the agent actually did.

Live tasks are variants of the bank's scenarios with fresh order and item numbers, as real
traffic would bring. Everything here is pure; randomness comes from the caller's stream.

The tables the traces are made of (tools, order and item numbers, faults per skill, replies)
live in catalog.py; they are imported here, so callers keep importing from this module.
"""

import json
import re
from dataclasses import dataclass, replace

from oversight.simulation.catalog import (
    CONFUSED_TOOLS,
    ITEM_ID,
    NOT_FOUND,
    ORDER_ID,
    PAYMENT_METHODS,
    PREVIOUS_ADDRESS,
    REPLIES,
    SYSTEM_PROMPT,
    UNREQUESTED_WRITES,
    USUAL_FAULT_SHARE,
    USUAL_FAULTS,
)
from practice.coach.alignment import is_read_only


@dataclass(frozen=True)
class Task:
    """One task a simulated agent works on: from a practice assignment or a live variant."""

    skill_key: str
    difficulty: float
    prompt: str
    expected_actions: tuple | None  # of {"name", "arguments"} dicts; None when not known
    source: str = "live"
    scenario_id: int | None = None


def task_from_scenario(scenario, *, source, scenario_id=None):
    expected = scenario.expected_actions
    return Task(
        skill_key=scenario.skill.key,
        difficulty=scenario.difficulty,
        prompt=scenario.prompt,
        expected_actions=None if expected is None else tuple(expected),
        source=source,
        scenario_id=scenario_id,
    )


def live_variant(task, rng):
    """The task as live traffic brings it: the same request about other orders and items."""
    numbers = {}

    def renumber(match):
        found = match.group(0)
        if found not in numbers:
            if ORDER_ID.fullmatch(found):
                numbers[found] = (
                    f"{'#' if found.startswith('#') else ''}W{rng.randrange(10**7):07d}"
                )
            else:
                numbers[found] = str(rng.randrange(10**9, 10**10))
        return numbers[found]

    def renumbered(value):
        if isinstance(value, str):
            return ITEM_ID.sub(renumber, ORDER_ID.sub(renumber, value))
        if isinstance(value, list):
            return [renumbered(item) for item in value]
        if isinstance(value, dict):
            return {key: renumbered(item) for key, item in value.items()}
        return value

    prompt = renumbered(task.prompt)
    expected = None
    if task.expected_actions is not None:
        expected = tuple(renumbered(dict(action)) for action in task.expected_actions)
    return replace(task, prompt=prompt, expected_actions=expected, source="live", scenario_id=None)


def attempt_payload(task, *, success, rng, external_id, used_strategies=()):
    """The attempt as the agent reports it, with a trace of what it did."""
    if task.expected_actions is None:
        trace = _reply_trace(task, success, rng)
    else:
        calls = list(_expected_calls(task)) if success else _faulty_calls(task, rng)
        trace = _chat_trace(task, calls) if rng.random() < 0.5 else _steps_trace(task, calls)
    payload = {
        "skill": task.skill_key,
        "source": task.source,
        "success": success,
        "score": 1.0 if success else round(rng.uniform(0.0, 0.3), 2),
        "difficulty": task.difficulty,
        "external_id": external_id,
        "task_input": task.prompt,
        "trace": trace,
    }
    if task.scenario_id is not None:
        payload["scenario"] = task.scenario_id
    if task.expected_actions is not None:
        payload["expected_actions"] = [dict(action) for action in task.expected_actions]
    if used_strategies:
        payload["used_strategies"] = list(used_strategies)
    return payload


# --- tool calls ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Call:
    name: str
    arguments: dict
    result: str


def _expected_calls(task):
    for action in task.expected_actions:
        arguments = dict(action.get("arguments") or {})
        yield _Call(action["name"], arguments, _result(action["name"], arguments))


def _faulty_calls(task, rng):
    calls = list(_expected_calls(task))
    writes = [index for index, call in enumerate(calls) if not is_read_only(call.name)]
    faults = _possible_faults(calls, writes)
    usual = _usual_fault(task.skill_key)
    if usual in faults and rng.random() < USUAL_FAULT_SHARE:
        fault = usual
    else:
        fault = faults[rng.randrange(len(faults))]
    if fault == "unrequested":
        return [*calls, _unrequested_write(task)]
    if fault == "missing":
        del calls[writes[-1] if writes else len(calls) - 1]
        return calls
    if fault == "wrong_tool":
        index = next(index for index in [*writes, *range(len(calls))] if _confusable(calls[index]))
        wrong = CONFUSED_TOOLS[calls[index].name]
        calls[index] = _Call(wrong, calls[index].arguments, _result(wrong, calls[index].arguments))
        return calls
    candidates = [index for index in [*writes, *range(len(calls))] if calls[index].arguments]
    index = candidates[0] if rng.random() < 0.7 else candidates[rng.randrange(len(candidates))]
    calls[index] = _with_wrong_argument(calls[index], task.skill_key, rng)
    return calls


def _possible_faults(calls, writes):
    if not calls:
        return ["unrequested"]
    faults = ["missing"]
    if any(call.arguments for call in calls):
        faults.append("wrong_argument")
    if any(_confusable(call) for call in calls):
        faults.append("wrong_tool")
    if not writes:
        faults.append("unrequested")
    return faults


def _usual_fault(skill_key):
    for prefix, fault in USUAL_FAULTS:
        if skill_key == prefix or skill_key.startswith(f"{prefix}."):
            return fault
    return None


def _confusable(call):
    return call.name in CONFUSED_TOOLS


def _unrequested_write(task):
    name = next(
        tool
        for prefix, tool in UNREQUESTED_WRITES
        if not prefix or task.skill_key == prefix or task.skill_key.startswith(f"{prefix}.")
    )
    order = ORDER_ID.search(task.prompt)
    order_id = order.group(0) if order else "#W0000000"
    if not order_id.startswith("#"):
        order_id = f"#{order_id}"
    if name == "modify_user_address":
        arguments = {"user_id": "unverified_caller", "address1": _address_in(task.prompt)}
    elif name == "return_delivered_order_items":
        items = ITEM_ID.findall(task.prompt)
        arguments = {"order_id": order_id, "item_ids": items or ["all"]}
    else:
        arguments = {"order_id": order_id, "reason": "no longer needed"}
    return _Call(name, arguments, _result(name, arguments))


def _address_in(prompt):
    found = re.search(r"\d+ [A-Z][a-z]+ (?:Street|Road|Drive|Lane|Avenue)", prompt)
    return found.group(0) if found else "the address in the message"


def _with_wrong_argument(call, skill_key, rng):
    preferred = {
        "tools.orders.wrong_order_id": "order_id",
        "tools.returns.wrong_items": "item_ids",
    }.get(skill_key)
    names = list(call.arguments)
    argument = preferred if preferred in call.arguments else names[rng.randrange(len(names))]
    value = _wrong_value(argument, call.arguments[argument], rng)
    arguments = {**call.arguments, argument: value}
    failed = argument in ("order_id", "product_id", "user_id", "email")
    return _Call(call.name, arguments, NOT_FOUND if failed else _result(call.name, arguments))


def _wrong_value(argument, value, rng):
    if isinstance(value, list):
        if len(value) > 1 and rng.random() < 0.5:
            return value[:-1]
        return [*value, str(rng.randrange(10**9, 10**10))]
    text = str(value)
    if argument == "payment_method_id":
        others = [method for method in PAYMENT_METHODS if method != text]
        return others[rng.randrange(len(others))]
    if argument == "email":
        name, _, domain = text.partition("@")
        return f"{name.replace('.', '')}@{domain}"
    digits = [index for index, char in enumerate(text) if char.isdigit()]
    swaps = [
        index for index in digits[:-1] if index + 1 in digits and text[index] != text[index + 1]
    ]
    if swaps:
        index = swaps[rng.randrange(len(swaps))]
        return text[:index] + text[index + 1] + text[index] + text[index + 2 :]
    if argument in PREVIOUS_ADDRESS:
        previous = PREVIOUS_ADDRESS[argument]
        return previous if previous.casefold() != text.casefold() else f"{previous} 2"
    return f"{text} (unconfirmed)"


def _result(name, arguments):
    if name == "transfer_to_human_agents":
        return "Transfer successful"
    if is_read_only(name):
        return json.dumps({**arguments, "status": "delivered"}, sort_keys=True)
    return json.dumps({"status": "done", "tool": name}, sort_keys=True)


def _chat_trace(task, calls):
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": task.prompt},
    ]
    for number, call in enumerate(calls, start=1):
        messages.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": f"call_{number}",
                        "type": "function",
                        "function": {"name": call.name, "arguments": json.dumps(call.arguments)},
                    }
                ],
            }
        )
        messages.append({"role": "tool", "tool_call_id": f"call_{number}", "content": call.result})
    messages.append({"role": "assistant", "content": _closing(calls)})
    return {"format": "openai-chat", "messages": messages}


def _steps_trace(task, calls):
    steps = [
        {
            "action": call.name,
            "arguments": call.arguments,
            "actual": call.result,
            "ok": not call.result.startswith("Error"),
        }
        for call in calls
    ]
    steps.append({"action": "respond", "actual": _closing(calls)})
    return {"format": "steps", "steps": steps}


def _closing(calls):
    if any(call.result.startswith("Error") for call in calls):
        return "Sorry, I could not find that order."
    return "All done. Is there anything else I can help with?"


# --- replies ----------------------------------------------------------------------------------


def _reply_trace(task, success, rng):
    move, expected, mistakes = _reply_for(task.skill_key)
    actual = expected if success else mistakes[rng.randrange(len(mistakes))]
    return {
        "format": "steps",
        "steps": [
            {"action": "read_request", "actual": task.prompt[:200], "ok": True},
            {"action": move, "expected": expected, "actual": actual, "ok": success},
            {"action": "respond", "actual": "Is there anything else I can help with?"},
        ],
    }


def _reply_for(skill_key):
    """The reply table's entry for the skill or its nearest listed ancestor (a skill the
    taxonomy grew later is judged like its parent)."""
    parts = skill_key.split(".")
    for end in range(len(parts), 0, -1):
        entry = REPLIES.get(".".join(parts[:end]))
        if entry is not None:
            return entry
    return (
        "reply",
        "Answer the customer's question directly from the order records",
        ("Answered a different question than the one asked", "Left the question unanswered"),
    )
