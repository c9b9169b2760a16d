"""An attempt's trace as a readable timeline, with the reflection's decision points marked.

A chat trace is shown as its messages: each tool call with its arguments and its result, each
reply, and the user's and system's words. The stored steps were made from those messages in a
fixed order (one per tool call, one per text reply: practice.traces.normalize_chat), so walking
the messages in that order pairs each call or reply with its step and the step's position,
which is what a decision point names."""

import json
from dataclasses import dataclass, field

from practice.models import Reflection, Strategy
from practice.traces import RESPOND_ACTION, message_text, parse_tool_arguments


@dataclass
class TimelineEntry:
    kind: str  # "message", "call", "reply" or "step"
    role: str = ""
    text: str = ""
    tool: str = ""
    arguments: str = ""  # pretty JSON
    result: str = ""
    expected: str = ""
    ok: bool | None = None
    note: str = ""
    position: int | None = None
    decision: dict | None = None  # the decision point at this step, if any


@dataclass
class AttemptTrace:
    entries: list
    reflection: Reflection | None
    reflections: list
    unplaced_decisions: list = field(default_factory=list)  # decision points naming no step
    strategies: list = field(default_factory=list)  # strategies the reflection supports


def attempt_trace(attempt):
    """The attempt's timeline and the reflection shown beside it: the latest that succeeded,
    else the latest."""
    steps = list(attempt.steps.order_by("position"))
    reflections = list(attempt.reflections.order_by("-created_at", "-id"))
    reflection = next(
        (item for item in reflections if item.status == Reflection.Status.SUCCEEDED),
        reflections[0] if reflections else None,
    )
    decisions = decisions_by_position(reflection)
    if attempt.trace_messages:
        entries = chat_entries(attempt.trace_messages, steps, decisions)
    else:
        entries = [_step_entry(step, decisions) for step in steps]
    placed = {entry.position for entry in entries if entry.decision is not None}
    unplaced = [
        point
        for point in (reflection.decision_points if reflection else [])
        if isinstance(point, dict) and point.get("position") not in placed
    ]
    strategies = (
        list(
            Strategy.objects.filter(evidence_links__reflection=reflection)
            .select_related("current_version", "skill")
            .distinct()
        )
        if reflection
        else []
    )
    return AttemptTrace(
        entries=entries,
        reflection=reflection,
        reflections=reflections,
        unplaced_decisions=unplaced,
        strategies=strategies,
    )


def decisions_by_position(reflection):
    """The reflection's decision points by the step position they name."""
    if reflection is None:
        return {}
    return {
        point["position"]: point
        for point in reflection.decision_points
        if isinstance(point, dict) and isinstance(point.get("position"), int)
    }


def chat_entries(messages, steps, decisions):
    """Timeline entries of a chat trace, each call and reply paired with its step."""
    results = {
        message.get("tool_call_id"): message_text(message.get("content"))
        for message in messages
        if isinstance(message, dict) and message.get("role") == "tool"
    }
    shown_results = set()
    pending_steps = iter(steps)
    entries = []
    for message in messages:
        if not isinstance(message, dict):
            continue
        role = message.get("role", "")
        text = message_text(message.get("content"))
        if role == "tool":
            if message.get("tool_call_id") not in shown_results:
                entries.append(TimelineEntry(kind="message", role="tool", text=text))
            continue
        if role != "assistant":
            entries.append(TimelineEntry(kind="message", role=role, text=text))
            continue
        calls = message.get("tool_calls") or []
        text = text or (message.get("refusal") or "")
        if calls and text.strip():
            entries.append(TimelineEntry(kind="message", role="assistant", text=text))
        for call in calls:
            function = call.get("function", {})
            step = next(pending_steps, None)
            shown_results.add(call.get("id"))
            entries.append(
                _placed(
                    TimelineEntry(
                        kind="call",
                        role="assistant",
                        tool=function.get("name", ""),
                        arguments=_pretty(parse_tool_arguments(function.get("arguments") or "")),
                        result=results.get(call.get("id"), ""),
                        ok=step.ok if step else None,
                    ),
                    step,
                    decisions,
                )
            )
        if not calls and text.strip():
            step = next(pending_steps, None)
            entries.append(
                _placed(TimelineEntry(kind="reply", role="assistant", text=text), step, decisions)
            )
    return entries


def _step_entry(step, decisions):
    return _placed(
        TimelineEntry(
            kind="reply" if step.action == RESPOND_ACTION and not step.arguments else "step",
            role="assistant",
            tool=step.action,
            arguments=_pretty(step.arguments) if step.arguments else "",
            result=step.actual,
            text=step.actual if step.action == RESPOND_ACTION else "",
            expected=step.expected,
            ok=step.ok,
            note=step.note,
        ),
        step,
        decisions,
    )


def _placed(entry, step, decisions):
    if step is not None:
        entry.position = step.position
        entry.decision = decisions.get(step.position)
        entry.expected = entry.expected or step.expected
    return entry


def _pretty(arguments):
    if arguments in (None, {}):
        return ""
    return json.dumps(arguments, indent=2, ensure_ascii=False, sort_keys=True)
