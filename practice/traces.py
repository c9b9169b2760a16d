"""Performance traces: the step an attempt is made of, and the normalization of an OpenAI
chat-completions message list into such steps. Pure functions, no database."""

import json
from dataclasses import dataclass

RESPOND_ACTION = "respond"


@dataclass(frozen=True)
class Step:
    """One move of an attempt: what the agent did, what it expected and what happened."""

    action: str
    arguments: dict | None = None
    expected: str = ""
    actual: str = ""
    ok: bool | None = None
    note: str = ""
    raw_message: dict | None = None


@dataclass(frozen=True)
class ChatTrace:
    """A chat message list read as steps, and the first thing the user asked."""

    steps: tuple[Step, ...]
    first_user_text: str


def normalize_chat(messages):
    """Steps of a well-formed chat message list: one per assistant tool call (its tool result
    as the actual outcome), one `respond` step per assistant text reply."""
    results = {
        message["tool_call_id"]: message_text(message.get("content"))
        for message in messages
        if message["role"] == "tool"
    }
    steps = []
    first_user_text = None
    for message in messages:
        role = message["role"]
        if role == "user" and first_user_text is None:
            first_user_text = message_text(message.get("content"))
        if role != "assistant":
            continue
        text = message_text(message.get("content")) or (message.get("refusal") or "")
        tool_calls = message.get("tool_calls") or []
        for number, tool_call in enumerate(tool_calls):
            result = results.get(tool_call["id"])
            steps.append(
                Step(
                    action=tool_call["function"]["name"],
                    arguments=parse_tool_arguments(tool_call["function"]["arguments"]),
                    actual=result or "",
                    ok=False if result is not None and looks_like_error(result) else None,
                    # The text that came with the calls is the agent's reasoning for them.
                    note=text if number == 0 else "",
                    raw_message=message,
                )
            )
        if not tool_calls and text.strip():
            steps.append(Step(action=RESPOND_ACTION, actual=text, raw_message=message))
    return ChatTrace(steps=tuple(steps), first_user_text=first_user_text or "")


def parse_tool_arguments(text):
    """The JSON object a tool call's `arguments` string holds, or {"_raw": text} when the
    model wrote something that is not a JSON object (it happens; the trace is still kept)."""
    try:
        arguments = json.loads(text)
    except ValueError:
        return {"_raw": text}
    return arguments if isinstance(arguments, dict) else {"_raw": text}


def looks_like_error(content):
    """True for a tool result that reports a failure: "Error..." or a JSON object with an
    "error" key."""
    stripped = content.lstrip()
    if stripped.startswith("Error"):
        return True
    if not stripped.startswith("{"):
        return False
    try:
        decoded = json.loads(stripped)
    except ValueError:
        return False
    return isinstance(decoded, dict) and "error" in decoded


def message_text(content):
    """The text of a message's content: a string, nothing, or a list of content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "\n".join(
        part["text"] for part in content if part.get("type") == "text" and "text" in part
    )
