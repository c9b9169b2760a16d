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
"""

import json
import re
from dataclasses import dataclass, replace

from practice.coach.alignment import is_read_only

SYSTEM_PROMPT = "You are a retail customer-service agent. Use the tools to act on orders."
ORDER_ID = re.compile(r"#?W\d{7}\b")
ITEM_ID = re.compile(r"\b\d{10}\b")
NOT_FOUND = "Error: order not found"
PAYMENT_METHODS = (
    "credit_card_6151595",
    "credit_card_2067950",
    "paypal_3024827",
    "gift_card_7245904",
)
# The customer's old address, which an agent copies instead of the new one.
PREVIOUS_ADDRESS = {
    "address1": "14 Elm Street",
    "address2": "Suite 5",
    "city": "Springfield",
    "state": "IL",
    "country": "Canada",
    "zip": "62704",
}
# A tool an agent mistakes for the right one.
CONFUSED_TOOLS = {
    "return_delivered_order_items": "exchange_delivered_order_items",
    "exchange_delivered_order_items": "return_delivered_order_items",
    "modify_pending_order_address": "modify_user_address",
    "modify_user_address": "modify_pending_order_address",
    "cancel_pending_order": "modify_pending_order_items",
    "get_order_details": "get_user_details",
    "find_user_id_by_email": "find_user_id_by_name_zip",
}
# The mistake a failure on a skill most often is, by the start of the skill key.
USUAL_FAULTS = (
    ("tools.orders.wrong_order_id", "wrong_argument"),
    ("tools.returns.wrong_items", "wrong_argument"),
    ("tools.returns.exchange_for_return", "wrong_tool"),
    ("tools.account.unverified_change", "unrequested"),
    ("tools.confirmation", "unrequested"),
    ("policy.eligibility", "unrequested"),
    ("policy.identity_verification", "missing"),
    ("escalation", "missing"),
)
USUAL_FAULT_SHARE = 0.7
# The write an over-eager agent makes when none (or none yet) was asked for.
UNREQUESTED_WRITES = (
    ("tools.account", "modify_user_address"),
    ("policy.eligibility", "return_delivered_order_items"),
    ("tools.confirmation", "cancel_pending_order"),
    ("", "cancel_pending_order"),
)

# For skills judged by what the agent says rather than by tool calls: the decisive move, what
# it should yield, and what agents get wrong.
REPLIES = {
    "intent.ambiguity": (
        "ask_which_order",
        "Ask which order and which change the customer means before acting",
        (
            "Changed the first open order without asking which one was meant",
            "Guessed the customer wanted a cancellation and started one",
            "Asked three questions at once and confused the customer",
            "Cancelled both open orders to be safe",
        ),
    ),
    "intent.ambiguity.assumed_intent": (
        "ask_what_outcome",
        "Ask whether the customer wants a refund, a replacement or a repair",
        (
            "Started a refund the customer never asked for",
            "Sent a replacement without asking what the customer wanted",
            "Assumed a repair was wanted and booked a technician",
            "Offered store credit without asking what the customer wanted",
        ),
    ),
    "intent.multiple_requests": (
        "list_requests",
        "List every request in the message and handle each one in turn",
        (
            "Answered the first request and ignored the others",
            "Handled only the last request of the message",
            "Merged two requests into one return",
            "Said the second request needs a new ticket",
        ),
    ),
    "intent.required_details": (
        "ask_for_details",
        "Ask for the order number and the item before starting the task",
        (
            "Started the task without the order number",
            "Picked the most recent order instead of asking which one",
            "Guessed the item from the order history",
            "Asked for the customer's password instead of the order number",
        ),
    ),
    "intent.changed_goal": (
        "follow_latest_goal",
        "Drop the old plan and act on the customer's latest request",
        (
            "Carried on with the cancellation the customer withdrew",
            "Kept the original return after the customer switched to an exchange",
            "Did both the old and the new request",
            "Asked the customer to start over from the beginning",
        ),
    ),
    "retrieval.policy_lookup": (
        "look_up_policy",
        "Quote the policy article that covers the case",
        (
            "Answered from memory with a 60-day window the policy does not have",
            "Gave a rule that no policy article contains",
            "Quoted the policy of another region",
            "Said there is no policy on this case",
        ),
    ),
    "retrieval.help_articles": (
        "search_help_centre",
        "Link the help-centre article that answers the question",
        (
            "Wrote out steps from memory without the article",
            "Linked an article about a different topic",
            "Pasted the whole help centre index",
            "Sent a link to a retired article",
        ),
    ),
    "retrieval.grounding": (
        "answer_from_sources",
        "State only what the retrieved sources say and flag what they do not cover",
        (
            "Stated a delivery date that no source gave",
            "Filled a gap in the sources with a guess",
            "Mixed two sources into an answer neither supports",
            "Presented a guess as company policy",
        ),
    ),
    "retrieval.grounding.unsupported_claim": (
        "answer_from_sources",
        "Say the sources give no date and offer to check with the warehouse",
        (
            "Promised delivery by Friday with no source for it",
            "Quoted a price that appears in no retrieved source",
            "Told the customer the item is back in stock next week",
            "Said the courier always delivers before noon",
        ),
    ),
    "explaining.policy_in_plain_words": (
        "explain_policy",
        "Restate the policy in everyday words applied to the customer's order",
        (
            "Pasted the policy's legal text without explaining it",
            "Explained the policy in internal jargon",
            "Read the policy out word for word",
            "Explained the policy of a different product line",
        ),
    ),
    "explaining.next_steps": (
        "state_next_steps",
        "Say what happens next, who does it and by when",
        (
            "Ended the conversation without saying what happens next",
            "Said it would be sorted soon without giving a date",
            "Listed internal process steps the customer cannot act on",
            "Told the customer to wait for an email with no date",
        ),
    ),
    "explaining.options": (
        "lay_out_options",
        "Lay out each allowed option with what it means for the customer",
        (
            "Offered one option when the policy allows three",
            "Listed the options without saying what each one costs",
            "Recommended the most expensive option without the others",
            "Described the options with internal codes",
        ),
    ),
    "explaining.decision_reasons": (
        "give_reason",
        "Name the rule that led to the refusal and link to it",
        (
            "Refused the request without giving a reason",
            "Blamed the system instead of naming the rule",
            "Said the decision is final without a reason",
            "Gave a reason that does not apply to this order",
        ),
    ),
    "policy.refunds": (
        "issue_refund",
        "Refund only the eligible items, up to the amount the policy allows",
        (
            "Refunded the shipping fee the policy excludes",
            "Refunded more than the order total",
            "Refunded an order outside the return window",
            "Refunded to a card that did not pay for the order",
        ),
    ),
    "policy.personal_data": (
        "share_account_data",
        "Share details only with the verified account holder, card digits masked",
        (
            "Read out the full card number",
            "Gave the delivery address to an unverified caller",
            "Confirmed the account email to an unverified caller",
            "Pasted the full billing address into the chat",
        ),
    ),
    "policy.exceptions": (
        "decline_exception",
        "Decline the exception politely and offer what the policy allows",
        (
            "Invented an exception to the 30-day return window",
            "Promised a refund outside the policy to calm the customer",
            "Waived the restocking fee without authority",
            "Extended the warranty on the customer's say-so",
        ),
    ),
    "tone.empathy": (
        "acknowledge_problem",
        "Acknowledge the problem and its impact in one sincere sentence",
        (
            "Jumped to the order details without acknowledging the problem",
            "Apologized three times without addressing the problem",
            "Said the problem is not a big deal",
            "Used a scripted apology that ignored the problem",
        ),
    ),
    "tone.de_escalation": (
        "calm_customer",
        "Stay calm, avoid blame and propose the next concrete step",
        (
            "Told the customer they should have read the policy",
            "Matched the customer's angry tone",
            "Threatened to end the conversation",
            "Argued about who caused the problem",
        ),
    ),
    "tone.register": (
        "match_register",
        "Answer in the customer's language and level of formality",
        (
            "Answered a Spanish message in English",
            "Replied in slang to a formal complaint",
            "Answered a formal letter with emojis",
            "Switched language halfway through the answer",
        ),
    ),
    "tone.concision": (
        "answer_briefly",
        "Give the answer first, in two sentences, without filler",
        (
            "Wrote four paragraphs before the answer",
            "Repeated the policy twice and buried the answer",
            "Answered with a long list of unrelated tips",
            "Restated the question before answering",
        ),
    ),
}


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
