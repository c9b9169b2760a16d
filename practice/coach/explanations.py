"""The trace-diff coach's findings in words: why a divergence mattered, how it led to the
failure, and the corrective strategy. A strategy names the tool, the argument and the value,
and quotes the task where it can."""

from practice.coach.alignment import (
    MISSING,
    NON_TOOL_ACTIONS,
    action_arguments,
    action_name,
    is_read_only,
)
from practice.coach.base import CandidateStrategy
from practice.coach.text import in_words
from practice.coach.wording import (
    arguments_text,
    call_text,
    mentions,
    noun,
    quote_about,
    quote_mentioning,
    score_text,
    sentence_start,
    shorten,
    shown,
)


def why_it_mattered(row):
    """Why the divergence in one alignment row mattered, in a sentence."""
    tool = row.tool
    if row.status == "wrong_argument":
        difference = row.differences[0]
        argument = in_words(difference.argument)
        return f"{tool} acts on the {argument} it is given; {wrong_argument_effect(row)}."
    if row.status == "wrong_tool":
        return (
            f"{action_name(row.actual)} does something other than {tool}, so the request to "
            f"{in_words(tool)} was left undone."
        )
    if row.status == "missing":
        if row.read_only:
            return f"{tool} was never called, so the agent went on without what it returns."
        return f"{tool} was required but never called, so that change never happened."
    if row.status == "repeated":
        return (
            f"{tool} had already been called with the same arguments; the repeat changed the "
            "state again."
        )
    return f"{tool} is a write the user did not ask for; it changed more than the request."


def causal_analysis(row, view):
    """How the divergence led to the failure, in two sentences."""
    where = f"At step {row.actual.position}" if row.actual is not None else "In the end"
    failed = f"and the attempt failed (score {score_text(view)})"
    tool = row.tool
    if row.status == "wrong_argument":
        difference = row.differences[0]
        return (
            f"{where} the agent called {tool} with {difference.argument} "
            f"{shown(difference.actual)} where the expected actions have "
            f"{shown(difference.expected)}. {sentence_start(wrong_argument_effect(row))} {failed}."
        )
    if row.status == "wrong_tool":
        return (
            f"{where} the agent called {action_name(row.actual)} where the expected actions "
            f"call {tool}. The request to {in_words(tool)} was left undone {failed}."
        )
    if row.status == "missing":
        return (
            f"The agent never called {call_text(row.expected)}, which the expected actions "
            f"require. Without it the task was left incomplete {failed}."
        )
    if row.status == "repeated":
        return (
            f"{where} the agent called {tool} a second time with the same arguments. The "
            f"repeated write changed the state beyond the request {failed}."
        )
    return (
        f"{where} the agent called {call_text(row.actual)}, a write the expected actions do "
        f"not contain. It changed the state beyond the request {failed}."
    )


def strategy_for(row, rows, view):
    """The strategy that corrects the divergence in one alignment row."""
    if row.status == "wrong_argument":
        when, do, because = _wrong_argument_strategy(row, view)
    elif row.status == "wrong_tool":
        when, do, because = _wrong_tool_strategy(row, view)
    elif row.status == "missing":
        when, do, because = _missing_action_strategy(row, view)
    else:
        when, do, because = _unrequested_action_strategy(row, rows, view)
    return CandidateStrategy(skill_key=view.skill_key, when=when, do=do, because=because)


def _wrong_argument_strategy(row, view):
    tool = row.tool
    difference = row.differences[0]
    argument, expected, actual = difference
    argument_words = in_words(argument)
    request = _request(tool)
    said = quote_mentioning(view.task_input, expected)
    if said:
        when = f'{request} and names the {noun(argument)} as {shown(expected)} ("{said}")'
    else:
        quote = quote_about(view.task_input, tool, argument)
        when = f'{request} ("{quote}")' if quote else f"{request} and {tool} needs its {argument}"
    if expected is MISSING:
        do = f"call {tool} without {argument}; do not pass {shown(actual)}"
    else:
        source = _value_source(argument, expected, actual, view, row.actual.position)
        do = f"call {tool} with {argument} set to {source}"
        do += f", not {shown(actual)}" if actual is not MISSING else ""
    because = (
        f"{tool} acts on whatever {argument_words} it is given; with {argument} "
        f"{shown(actual)} instead of {shown(expected)} {wrong_argument_effect(row)} and the "
        "task failed"
    )
    return when, do, because


def _wrong_tool_strategy(row, view):
    tool, called = row.tool, action_name(row.actual)
    when = _request_trigger(view, tool, action_arguments(row.expected))
    do = f"call {call_text(row.expected)}, not {called}"
    because = (
        f"{called} does something other than {tool}; calling it instead left the request to "
        f"{in_words(tool)} undone and the task failed"
    )
    return when, do, because


def _missing_action_strategy(row, view):
    tool = row.tool
    when = _request_trigger(view, tool, action_arguments(row.expected))
    if row.read_only:
        do = f"call {call_text(row.expected)} before answering or changing anything"
        because = (
            f"{tool} was never called, so the agent worked without what it returns and the "
            "task failed"
        )
    else:
        do = f"call {call_text(row.expected)}; the request is not done until it has been called"
        because = (
            f"{tool} was required but never called, so the change never happened and the task "
            "failed"
        )
    return when, do, because


def _unrequested_action_strategy(row, rows, view):
    tool = row.tool
    if row.status == "repeated":
        when = f"after {tool} has already succeeded for the user's request"
        arguments = arguments_text(action_arguments(row.actual))
        do = (
            f"do not call {tool} again with the same arguments ({arguments}); read the earlier "
            "result instead"
        )
        because = (
            f"a second {tool} call repeats a change the user asked for once; the repeat altered "
            "the state again and the task failed"
        )
        return when, do, because
    requested = [
        action_name(other.expected)
        for other in rows
        if other.expected is not None and not is_read_only(action_name(other.expected))
    ]
    requested = list(dict.fromkeys(requested))
    if requested:
        asked = " and ".join(in_words(name) for name in requested)
        quote = quote_about(view.task_input, *requested)
        when = f"before calling {tool} when the user asked only to {asked}"
        needed = "only " + ", ".join(requested)
    else:
        quote = quote_about(view.task_input, tool)
        when = f"before calling {tool} when the user asked for no change through {tool}"
        needed = "no write at all"
    if quote:
        when += f' ("{quote}")'
    do = f"do not call {tool} unless the user asked for it; this request needed {needed}"
    because = (
        f"{tool} is a write the user did not request; calling it "
        f"({arguments_text(action_arguments(row.actual))}) changed the state beyond the "
        "request and the task failed"
    )
    return when, do, because


def _request(tool):
    """The opening of a trigger for a request that needs the tool."""
    if is_read_only(tool):
        words = in_words(tool).split()
        looked_up = " ".join(words[1:]) if len(words) > 1 else words[0]
        return f"when looking up {looked_up} for the user"
    return f"when the user asks to {in_words(tool)}"


def _request_trigger(view, tool, arguments):
    request = _request(tool)
    for value in arguments.values():
        said = quote_mentioning(view.task_input, value)
        if said:
            return f'{request} ("{said}")'
    quote = quote_about(view.task_input, tool)
    return f'{request} ("{quote}")' if quote else request


def _value_source(argument, value, wrong_value, view, before_position):
    """Where the right value was to be found: the user's words, or an earlier tool result
    that shows it and not the wrong value."""
    named = noun(argument)
    if mentions(view.task_input, value):
        return f"the {named} the user named ({shown(value)})"
    for step in sorted(view.steps, key=lambda step: step.position):
        if step.position >= before_position:
            break
        if (
            step.action.casefold() not in NON_TOOL_ACTIONS
            and mentions(step.actual, value)
            and not mentions(step.actual, wrong_value)
        ):
            return f"the {named} {step.action} returned ({shown(value)})"
    return shown(value)


def wrong_argument_effect(row):
    """What a call with a wrong argument did: failed, or acted on or looked up the wrong thing."""
    argument = row.differences[0].argument
    result = row.actual.actual if row.actual is not None else ""
    if row.actual is not None and row.actual.ok is False:
        return f'the call failed ("{shorten(result, 80)}")'
    if row.read_only:
        return f"it looked up the wrong {in_words(argument)}"
    return f"it acted on the wrong {in_words(argument)}"
