"""Aligning the agent's tool calls with the expected actions.

A global sequence alignment (Needleman-Wunsch): every expected action and every actual call
appears once, in order, either paired or against a gap, so an extra call or a skipped one shifts
nothing else out of place. Scores are whole numbers so that ties are exact and the result is the
same on every machine.

- Two calls to the same tool score 100 x weight x (1 + share of equal arguments).
- Two different tools of the same kind (both writes or both reads) score -50 x weight: one
  wrong tool costs less than skipping one call and inventing another.
- A write paired with a read scores -200: never preferred to two gaps.
- A gap costs 60 x weight.
Writes weigh 1.0, read-only tools 0.4: a missed or extra lookup moves the alignment less than a
missed or extra change.
"""

import re
from typing import NamedTuple

READ_ONLY_PREFIXES = ("get_", "find_", "list_", "search_", "lookup", "read", "calculate", "think")

# Steps that are messages rather than tool calls (practice.traces writes "respond").
NON_TOOL_ACTIONS = frozenset({"respond", "message", "reply", "say", "user", "assistant", "system"})

WRITE_WEIGHT = 1.0
READ_WEIGHT = 0.4
MATCH_POINTS = 100
SAME_KIND_MISMATCH_POINTS = -50
CROSS_KIND_MISMATCH_POINTS = -200
GAP_POINTS = -60

_SCALARS = (str, int, float, bool, type(None))
_TOOL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")


class _Missing:
    """The value of an argument that one side does not pass at all."""

    def __repr__(self):
        return "MISSING"


MISSING = _Missing()


class ArgumentDifference(NamedTuple):
    argument: str
    expected: object
    actual: object


def is_read_only(name):
    """True for tools that only read (get_, find_, list_, search_, lookup, read, calculate,
    think): they change nothing, so they matter less than writes."""
    return name.strip().casefold().startswith(READ_ONLY_PREFIXES)


def action_name(action):
    """The tool name of an expected action ({"name", ...}) or of a trace step (its action)."""
    if isinstance(action, dict):
        return str(action.get("name") or "")
    return action.action


def action_arguments(action):
    """The arguments of an expected action ({"arguments"} or tau-bench's {"kwargs"}) or of a
    trace step; {} when there are none."""
    if isinstance(action, dict):
        arguments = action.get("arguments", action.get("kwargs"))
    else:
        arguments = action.arguments
    return arguments if isinstance(arguments, dict) else {}


def tool_calls(steps):
    """The steps of a trace that are tool calls. When some steps carry arguments (a normalized
    chat trace), only those are calls; otherwise every step named like a tool is."""
    named = [
        step
        for step in steps
        if _TOOL_NAME.match(step.action.strip())
        and step.action.strip().casefold() not in NON_TOOL_ACTIONS
    ]
    if any(step.arguments is not None for step in named):
        return [step for step in named if step.arguments is not None]
    return named


def normalized(value):
    """A value in comparable form: strings stripped and case-folded, lists of scalars sorted,
    nested lists and objects normalized in turn."""
    if isinstance(value, str):
        return value.strip().casefold()
    if isinstance(value, dict):
        return (
            "object",
            tuple(sorted((str(key), normalized(item)) for key, item in value.items())),
        )
    if isinstance(value, (list, tuple)):
        items = [normalized(item) for item in value]
        if all(isinstance(item, _SCALARS) for item in value):
            items.sort(key=repr)
        return ("list", tuple(items))
    return value


def argument_differences(expected_args, actual_args):
    """(argument, expected value, actual value) for each argument whose values differ after
    normalization, in the expected order then the actual's; MISSING stands for an absent key."""
    expected_args = expected_args or {}
    actual_args = actual_args or {}
    differences = []
    for key in [*expected_args, *(key for key in actual_args if key not in expected_args)]:
        expected = expected_args.get(key, MISSING)
        actual = actual_args.get(key, MISSING)
        if expected is MISSING or actual is MISSING or normalized(expected) != normalized(actual):
            differences.append(ArgumentDifference(key, expected, actual))
    return differences


def equal_argument_share(expected_args, actual_args):
    """The share of arguments (over the keys of both sides) whose values are equal; 1.0 when
    neither side has any."""
    keys = set(expected_args) | set(actual_args)
    if not keys:
        return 1.0
    return 1 - len(argument_differences(expected_args, actual_args)) / len(keys)


class _Prepared(NamedTuple):
    """An action read once for the alignment: name, kind, gap cost, normalized arguments, and
    a signature that equal actions share (a trace repeats the same call often)."""

    name: str
    read_only: bool
    weight: float
    gap: int
    arguments: dict
    signature: tuple


def _prepare(action):
    name = action_name(action).strip().casefold()
    read_only = is_read_only(name)
    weight = READ_WEIGHT if read_only else WRITE_WEIGHT
    arguments = {key: normalized(value) for key, value in action_arguments(action).items()}
    try:
        signature = (name, frozenset(arguments.items()))
    except TypeError:  # an unhashable value (not from JSON): the action is its own kind
        signature = (name, id(arguments))
    return _Prepared(name, read_only, weight, round(GAP_POINTS * weight), arguments, signature)


def _pair_points(expected, actual):
    if expected.name == actual.name:
        keys = expected.arguments.keys() | actual.arguments.keys()
        equal = sum(
            1
            for key in keys
            if key in expected.arguments
            and key in actual.arguments
            and expected.arguments[key] == actual.arguments[key]
        )
        share = equal / len(keys) if keys else 1.0
        return round(MATCH_POINTS * expected.weight * (1 + share))
    if expected.read_only != actual.read_only:
        return CROSS_KIND_MISMATCH_POINTS
    return round(SAME_KIND_MISMATCH_POINTS * max(expected.weight, actual.weight))


def _pair_row(expected, done):
    """The pair points of one expected action against each call, worked out once per kind of
    call."""
    by_signature = {}
    row = []
    for actual in done:
        found = by_signature.get(actual.signature)
        if found is None:
            found = by_signature[actual.signature] = _pair_points(expected, actual)
        row.append(found)
    return row


def align_actions(expected_actions, actual_calls):
    """The global alignment of expected actions against actual tool calls: a list of
    (expected or None, actual or None) pairs in order. On equal scores a gap is placed as late
    as possible, so a repeated call pairs its first occurrence."""
    expected_actions, actual_calls = list(expected_actions), list(actual_calls)
    wanted = [_prepare(action) for action in expected_actions]
    done = [_prepare(action) for action in actual_calls]
    rows, columns = len(wanted), len(done)
    points = [[0] * (columns + 1) for _ in range(rows + 1)]
    moves = [[""] * (columns + 1) for _ in range(rows + 1)]
    for i in range(1, rows + 1):
        points[i][0] = points[i - 1][0] + wanted[i - 1].gap
        moves[i][0] = "up"
    for j in range(1, columns + 1):
        points[0][j] = points[0][j - 1] + done[j - 1].gap
        moves[0][j] = "left"
    gaps = [actual.gap for actual in done]
    pair_rows = {}  # per kind of expected action: its pair points against every call
    for i in range(1, rows + 1):
        expected = wanted[i - 1]
        pairs = pair_rows.get(expected.signature)
        if pairs is None:
            pairs = pair_rows[expected.signature] = _pair_row(expected, done)
        above, here, moved = points[i - 1], points[i], moves[i]
        for j in range(1, columns + 1):
            # On equal points a gap wins over a pair, and "left" over "up": the traceback
            # runs backwards, so that puts gaps late.
            left = here[j - 1] + gaps[j - 1]
            up = above[j] + expected.gap
            diagonal = above[j - 1] + pairs[j - 1]
            if left >= up and left >= diagonal:
                here[j], moved[j] = left, "left"
            elif up >= diagonal:
                here[j], moved[j] = up, "up"
            else:
                here[j], moved[j] = diagonal, "diagonal"
    pairs = []
    i, j = rows, columns
    while i or j:
        move = moves[i][j]
        if move == "diagonal":
            pairs.append((expected_actions[i - 1], actual_calls[j - 1]))
            i, j = i - 1, j - 1
        elif move == "up":
            pairs.append((expected_actions[i - 1], None))
            i -= 1
        else:
            pairs.append((None, actual_calls[j - 1]))
            j -= 1
    pairs.reverse()
    return pairs
