"""The offline trace-diff coach: deterministic, no model, no network.

With expected actions it aligns the agent's tool calls to them (practice.coach.alignment) and
reads the first divergence that matters:
- the same tool with a different argument value -> wrong_argument (which argument, expected
  against actual value);
- an expected action paired with a call to another tool -> wrong_tool;
- an expected write never called -> missing_action;
- a write that the expected actions do not contain (or a repeat of one) -> unrequested_action.
Writes come first; an extra read-only call is never a fault, and a read-only divergence is used
only when no write diverged. A call made out of order is paired with its expected action after
the alignment and is not a fault. When every expected action was taken and the attempt still
failed, the fault is partial_goal (other when nothing was expected).

Without expected actions it uses the first step that failed (ok is False) or whose actual
differs from a non-empty expected.

Strategies are written only from what was found: the tool, the argument, the value and a short
quote of the task. When nothing specific was found the coach proposes nothing rather than
something generic.
"""

import re

from practice.coach.alignment import (
    MISSING,
    action_arguments,
    action_name,
    align_actions,
    argument_differences,
    equal_argument_share,
    is_read_only,
    tool_calls,
)
from practice.coach.base import (
    AttemptView,
    CandidateStrategy,
    CoachError,
    CoachResult,
    DecisionPoint,
)
from practice.coach.explanations import causal_analysis, strategy_for, why_it_mattered
from practice.coach.text import in_words
from practice.coach.wording import (
    call_text,
    quote_about,
    score_text,
    shorten,
)

MAX_DECISION_POINTS = 5

FAULT_OF_STATUS = {
    "wrong_argument": "wrong_argument",
    "wrong_tool": "wrong_tool",
    "missing": "missing_action",
    "extra": "unrequested_action",
    "repeated": "unrequested_action",
}


class TraceDiffCoach:
    """Reflects on an attempt by comparing what the agent did with what it should have done."""

    name = "trace-diff"
    version = "1"

    def reflect(self, view: AttemptView) -> CoachResult:
        _check(view)
        if view.expected_actions is not None:
            findings = _findings_from_alignment(view)
        else:
            findings = _findings_from_steps(view)
        result = CoachResult(**findings)
        return CoachResult(**{**findings, "raw_output": result.analysis_json()})


# --- reading the attempt -----------------------------------------------------------------


def _check(view):
    if not isinstance(view, AttemptView):
        raise CoachError("the trace-diff coach reads an AttemptView")
    if view.expected_actions is None:
        return
    if not isinstance(view.expected_actions, list):
        raise CoachError("expected actions must be a list")
    for number, action in enumerate(view.expected_actions):
        if not isinstance(action, dict) or not str(action.get("name") or "").strip():
            raise CoachError(f"expected action {number} has no tool name")


class _Row:
    """One line of the alignment: an expected action, an actual call, or both."""

    def __init__(self, expected, actual, status, differences=()):
        self.expected = expected
        self.actual = actual
        self.status = status
        self.differences = list(differences)

    @property
    def tool(self):
        return action_name(self.expected if self.expected is not None else self.actual)

    @property
    def read_only(self):
        return is_read_only(self.tool)

    @property
    def fault_type(self):
        if self.status in ("extra", "repeated") and self.read_only:
            return None
        return FAULT_OF_STATUS.get(self.status)

    def summary(self):
        row = {
            "position": self.actual.position if self.actual is not None else None,
            "status": self.status,
            "read_only": self.read_only,
            "expected": _call_data(self.expected),
            "actual": _call_data(self.actual),
        }
        if self.differences:
            row["differences"] = [_difference_data(difference) for difference in self.differences]
        if self.actual is not None and self.actual.actual:
            row["result"] = shorten(self.actual.actual)
        return row


def _aligned_rows(view):
    calls = tool_calls(view.steps)
    pairs = _pair_moved_calls(align_actions(view.expected_actions, calls))
    rows = []
    matched = []
    for expected, actual, moved in pairs:
        if expected is not None and actual is not None:
            if action_name(expected).casefold() != action_name(actual).casefold():
                rows.append(_Row(expected, actual, "wrong_tool"))
                continue
            differences = argument_differences(action_arguments(expected), action_arguments(actual))
            if differences:
                rows.append(_Row(expected, actual, "wrong_argument", differences))
            else:
                rows.append(_Row(expected, actual, "moved" if moved else "match"))
                matched.append(actual)
        elif expected is not None:
            rows.append(_Row(expected, None, "missing"))
        else:
            repeated = any(_same_call(actual, earlier) for earlier in matched)
            rows.append(_Row(None, actual, "repeated" if repeated else "extra"))
    return rows


def _pair_moved_calls(pairs):
    """Pair an expected action left without a call with a leftover call to the same tool made
    elsewhere in the trace (the agent did it, out of order). Returns (expected, actual, moved)."""
    result = [[expected, actual, False] for expected, actual in pairs]
    for missing in [row for row in result if row[1] is None]:
        leftovers = [
            row
            for row in result
            if row[0] is None
            and row[1] is not None
            and action_name(row[1]).casefold() == action_name(missing[0]).casefold()
        ]
        if not leftovers:
            continue
        expected_arguments = action_arguments(missing[0])
        best = max(
            leftovers,
            key=lambda row: equal_argument_share(expected_arguments, action_arguments(row[1])),
        )
        best[0], best[2] = missing[0], True
        result.remove(missing)
    return [tuple(row) for row in result]


def _same_call(step, other):
    return action_name(step).casefold() == action_name(other).casefold() and not (
        argument_differences(action_arguments(step), action_arguments(other))
    )


def _trace_with_messages(rows, view):
    """The alignment rows with the trace's other steps (replies) slotted in by position."""
    called = {id(row.actual) for row in rows if row.actual is not None}
    others = sorted(
        (step for step in view.steps if id(step) not in called), key=lambda step: step.position
    )
    trace = []
    for row in rows:
        if row.actual is not None:
            while others and others[0].position < row.actual.position:
                trace.append(_step_data(others.pop(0), "message"))
        trace.append(row.summary())
    trace.extend(_step_data(step, "message") for step in others)
    return trace


# --- findings with expected actions ------------------------------------------------------


def _findings_from_alignment(view):
    rows = _aligned_rows(view)
    trace = _trace_with_messages(rows, view)
    expected_count = len(view.expected_actions)
    done = sum(1 for row in rows if row.status in ("match", "moved"))
    if view.success:
        extra = sum(1 for row in rows if row.status in ("extra", "repeated"))
        analysis = (
            f"The attempt succeeded: {done} of {expected_count} expected actions were taken "
            "as expected."
        )
        if extra:
            analysis += f" The agent also made {extra} call(s) the expected actions do not list."
        return _no_fault(trace, analysis)

    faults = [row for row in rows if row.fault_type and not row.read_only]
    if not faults:
        faults = [row for row in rows if row.fault_type][:1]
    if faults:
        primary = faults[0]
        points = [_decision_point(row) for row in faults[:MAX_DECISION_POINTS]]
        analysis = causal_analysis(primary, view)
        if len(faults) > 1:
            analysis += (
                f" The trace diverges from the expected actions {len(faults) - 1} more "
                "time(s) after that."
            )
        strategy = strategy_for(primary, rows, view)
        return _finding(
            trace=trace,
            points=points,
            fault_type=primary.fault_type,
            analysis=analysis,
            strategies=[strategy],
            failure_mode=_failure_mode(primary.fault_type, _subject(primary)),
        )

    fault_type = "partial_goal" if expected_count else "other"
    step = _first_divergent_step(view, explicit_only=True)
    if step is not None:
        return _step_finding(view, trace, step, fault_type)
    if expected_count:
        analysis = (
            f"All {expected_count} expected actions were taken with the expected arguments, yet "
            f"the attempt failed (score {score_text(view)}). What was missed is not in the tool "
            "calls, for example what the user had to be told."
        )
    else:
        analysis = (
            f"No action was expected and the agent made no unrequested change, yet the attempt "
            f"failed (score {score_text(view)}); the trace does not show where it went wrong."
        )
    return _finding(
        trace=trace,
        points=[],
        fault_type=fault_type,
        analysis=analysis,
        strategies=[],
        failure_mode=_failure_mode(fault_type),
    )


def _subject(row):
    if row.status == "wrong_argument":
        return row.differences[0].argument
    return row.tool


def _decision_point(row):
    chosen = call_text(row.actual) if row.actual is not None else "no call"
    if row.status == "extra" or row.status == "repeated":
        should = "no such call: the user did not ask for it"
    else:
        should = call_text(row.expected)
    return DecisionPoint(
        position=row.actual.position if row.actual is not None else None,
        chosen=chosen,
        should_have_chosen=should,
        why_it_mattered=why_it_mattered(row),
    )


# --- findings from step traces -----------------------------------------------------------


def _findings_from_steps(view):
    trace = [_step_data(step, _step_status(step)) for step in view.steps]
    if view.success:
        return _no_fault(trace, f"The attempt succeeded over {len(view.steps)} step(s).")
    step = _first_divergent_step(view, explicit_only=False)
    if step is None:
        return _finding(
            trace=trace,
            points=[],
            fault_type="other",
            analysis=(
                f"The attempt failed (score {score_text(view)}) but no step failed and every step "
                "met its expected outcome, so the trace does not show where it went wrong."
            ),
            strategies=[],
            failure_mode=_failure_mode("other"),
        )
    return _step_finding(view, trace, step, "other")


def _step_status(step):
    if step.ok is False:
        return "failed"
    if _diverges(step):
        return "diverges"
    return "ok" if step.ok else "unchecked"


def _diverges(step):
    return bool(step.expected.strip()) and _plain(step.expected) != _plain(step.actual)


def _first_divergent_step(view, explicit_only):
    for step in view.steps:
        if _diverges(step) or (step.ok is False and not explicit_only):
            return step
    return None


def _step_finding(view, trace, step, fault_type):
    action = step.action.strip() or "unnamed"
    expected = step.expected.strip()
    outcome = shorten(step.actual, 80) if step.actual.strip() else "nothing"
    note = f" ({shorten(step.note, 120)})" if step.note.strip() else ""
    if expected:
        should = f'{action} yielding "{shorten(expected, 80)}"'
        why = f'It yielded "{outcome}" instead of "{shorten(expected, 80)}"{note}.'
    else:
        should = "a step that does not fail; the trace records no expected outcome"
        why = f'The step failed with "{outcome}"{note}.'
    point = DecisionPoint(
        position=step.position,
        chosen=f'{call_text(step)} yielding "{outcome}"',
        should_have_chosen=should,
        why_it_mattered=why,
    )
    analysis = (
        f"At step {step.position} the {action} step went wrong: {why[0].lower()}{why[1:]} "
        f"The attempt failed (score {score_text(view)}) after it."
    )
    strategies = []
    if expected:
        quote = quote_about(view.task_input, action, expected)
        when = (
            f'when the task is "{quote}" and the next step is {action}'
            if quote
            else f"before taking the {in_words(action)} step"
        )
        strategies.append(
            CandidateStrategy(
                skill_key=view.skill_key,
                when=when,
                do=f'make {action} yield "{shorten(expected, 80)}", not "{outcome}"',
                because=(
                    f'at step {step.position} {action} yielded "{outcome}" where '
                    f'"{shorten(expected, 80)}" was needed{note}, and the task failed'
                ),
            )
        )
    return _finding(
        trace=trace,
        points=[point],
        fault_type=fault_type,
        analysis=analysis,
        strategies=strategies,
        failure_mode=_failure_mode(fault_type, step.action),
    )


# --- building the result -----------------------------------------------------------------


def _no_fault(trace, analysis):
    return _finding(
        trace=trace,
        points=[],
        fault_type="none",
        analysis=analysis,
        strategies=[],
        failure_mode=None,
        fault_author="none",
    )


def _finding(
    *, trace, points, fault_type, analysis, strategies, failure_mode, fault_author="agent"
):
    return {
        "performance_trace": trace,
        "decision_points": points,
        "fault_author": fault_author,
        "fault_type": fault_type,
        "causal_analysis": analysis,
        "strategies": strategies,
        "failure_mode": failure_mode,
    }


def _failure_mode(fault_type, subject=""):
    slug = re.sub(r"[^a-z0-9_]+", "_", subject.casefold()).strip("_")
    return f"{fault_type}.{slug}" if slug else fault_type


# --- the trace as read --------------------------------------------------------------------


def _call_data(action):
    if action is None:
        return None
    return {"name": action_name(action), "arguments": action_arguments(action)}


def _difference_data(difference):
    data = {"argument": difference.argument}
    if difference.expected is not MISSING:
        data["expected"] = difference.expected
    if difference.actual is not MISSING:
        data["actual"] = difference.actual
    return data


def _step_data(step, status):
    data = {"position": step.position, "action": step.action, "status": status}
    if step.arguments is not None:
        data["arguments"] = step.arguments
    if step.ok is not None:
        data["ok"] = step.ok
    for name in ("expected", "actual", "note"):
        text = getattr(step, name)
        if text.strip():
            data[name] = shorten(text)
    return data


def _plain(text):
    return " ".join(text.split()).casefold()
