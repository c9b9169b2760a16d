"""The scenario bank file format (YAML), parsed and checked whole before anything is written.

    version: 1
    scenarios:
      - key: orders-lookup-basic     # stable id: letters, digits, hyphens, underscores
        skill: tools.orders          # the full key of a skill or failure mode
        difficulty: 0.3              # 0 (easiest) to 1 (hardest)
        prompt: >-
          Hi, where is my order #W2378156?
        expected_actions:            # optional: the ground truth, in order
          - name: get_order_details
            arguments: {order_id: "#W2378156"}

Every problem is reported with the line it is on. Whether the skills exist is checked when the
definitions are loaded (practice.services.scenarios.load_scenarios), also by line, with the
same error.
"""

import re
from datetime import date

import yaml

from practice.models import PracticeScenario
from practice.services.errors import PracticeError
from taxonomy.models import KEY_PATTERN

# The taxonomy file's loader: it records the line of every mapping under these two keys and
# refuses a field written twice.
from taxonomy.taxonomy_file import _LineLoader

SUPPORTED_VERSIONS = {1}
SCENARIO_FIELDS = {"key", "skill", "difficulty", "prompt", "expected_actions"}
ACTION_FIELDS = {"name", "arguments"}
SCENARIO_KEY = re.compile(r"^[-a-zA-Z0-9_]+\Z")
SKILL_KEY = re.compile(KEY_PATTERN)
MAX_KEY_LENGTH = PracticeScenario._meta.get_field("key").max_length
LINE = "__line__"
LINES = "__lines__"


class ScenarioFileError(PracticeError):
    """The file is refused; `problems` lists (line, reason) pairs, lines counted from 1."""

    def __init__(self, problems):
        self.problems = sorted(problems, key=lambda problem: (problem[0] or 0, problem[1]))
        super().__init__(
            "\n".join(
                f"line {line}: {reason}" if line else reason for line, reason in self.problems
            )
        )


def parse_scenarios(text):
    """Parse and check a scenario bank file; return one definition per scenario, in file order."""
    try:
        document = yaml.load(text, Loader=_LineLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else None
        raise ScenarioFileError([(line, f"not valid YAML: {error.problem}")]) from None
    except yaml.YAMLError as error:
        raise ScenarioFileError([(None, f"not valid YAML: {error}")]) from None

    if not isinstance(document, dict):
        raise ScenarioFileError([(1, "the file must be a mapping with 'version' and 'scenarios'")])
    lines = document[LINES]
    problems = []
    for name in sorted(set(lines) - {"version", "scenarios"}):
        problems.append((lines[name], f"unknown top-level field '{name}'"))
    version = document.get("version")
    # `true` and `1.0` compare equal to 1; only the integer is a version.
    if type(version) is not int or version not in SUPPORTED_VERSIONS:
        problems.append(
            (lines.get("version", 1), f"'version' must be one of {sorted(SUPPORTED_VERSIONS)}")
        )
    entries = document.get("scenarios")
    if not isinstance(entries, list) or not entries:
        problems.append((lines.get("scenarios", 1), "'scenarios' must be a non-empty list"))
        raise ScenarioFileError(problems)

    definitions = []
    seen = {}
    for entry in entries:
        if not isinstance(entry, dict):
            problems.append(
                (lines["scenarios"], "each scenario must be a mapping with key, skill, ...")
            )
            continue
        definition = _check_scenario(entry, seen, problems)
        if definition is not None:
            definitions.append(definition)
    if problems:
        raise ScenarioFileError(problems)
    return definitions


def _check_scenario(entry, seen, problems):
    count = len(problems)
    line, lines = entry[LINE], entry[LINES]
    for name in sorted(set(lines) - SCENARIO_FIELDS):
        problems.append((lines[name], f"unknown field '{name}'"))
    key = entry.get("key")
    if not isinstance(key, str) or not SCENARIO_KEY.match(key) or len(key) > MAX_KEY_LENGTH:
        problems.append(
            (
                lines.get("key", line),
                f"key {key!r} must be letters, digits, hyphens or underscores "
                f"(at most {MAX_KEY_LENGTH} characters)",
            )
        )
        label = f"scenario on line {line}"
    elif key in seen:
        problems.append((lines["key"], f"duplicate scenario {key} (first on line {seen[key]})"))
        label = key
    else:
        seen[key] = lines["key"]
        label = key
    skill = entry.get("skill")
    if not isinstance(skill, str) or not SKILL_KEY.match(skill):
        problems.append(
            (
                lines.get("skill", line),
                f"{label}: 'skill' must be a full skill key, e.g. tools.orders",
            )
        )
    difficulty = entry.get("difficulty")
    if (
        isinstance(difficulty, bool)
        or not isinstance(difficulty, int | float)
        or not 0 <= difficulty <= 1
    ):
        problems.append(
            (lines.get("difficulty", line), f"{label}: 'difficulty' must be a number from 0 to 1")
        )
    prompt = entry.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        problems.append((lines.get("prompt", line), f"{label}: 'prompt' is required text"))
    expected_actions = None
    if "expected_actions" in entry:
        expected_actions = _check_actions(
            entry["expected_actions"], lines["expected_actions"], label, problems
        )
    if len(problems) != count:
        return None
    return {
        "key": key,
        "skill": skill,
        "difficulty": float(difficulty),
        "prompt": prompt.strip(),
        "expected_actions": expected_actions,
        "line": line,
        "skill_line": lines["skill"],
    }


def _check_actions(actions, line, label, problems):
    if not isinstance(actions, list):
        problems.append((line, f"{label}: 'expected_actions' must be a list of actions"))
        return None
    checked = []
    for action in actions:
        if not isinstance(action, dict):
            problems.append((line, f"{label}: each expected action must be a mapping with a name"))
            continue
        action_line, action_lines = action[LINE], action[LINES]
        for name in sorted(set(action_lines) - ACTION_FIELDS):
            problems.append((action_lines[name], f"{label}: unknown action field '{name}'"))
        name = action.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(
                (action_lines.get("name", action_line), f"{label}: an action needs a 'name'")
            )
        arguments = action.get("arguments", {})
        if not isinstance(arguments, dict):
            problems.append(
                (
                    action_lines.get("arguments", action_line),
                    f"{label}: an action's 'arguments' must be a mapping",
                )
            )
            continue
        if isinstance(name, str):
            checked.append({"name": name.strip(), "arguments": _without_lines(arguments)})
    return checked


def _without_lines(value):
    """The value as plain JSON data, without the line bookkeeping of its mappings."""
    if isinstance(value, dict):
        return {
            str(key): _without_lines(item)
            for key, item in value.items()
            if key not in (LINE, LINES)
        }
    if isinstance(value, list):
        return [_without_lines(item) for item in value]
    # An unquoted 2025-03-01 reads as a date; the JSON field keeps it as the text it was.
    if isinstance(value, date):
        return value.isoformat()
    return value
