"""Decisions on proposed practice scenarios (the coach's LLM-written variants): approved, the
scheduler may assign them; rejected, it never does."""

from django.db import transaction

from oversight.services.review.claims import _check_claim, _drop_claim
from oversight.services.review.common import (
    REVIEW_PERMISSION,
    Action,
    InvalidDecision,
    Outcome,
    Reason,
    _check_reason,
    _check_revision,
    _record,
    _require,
)

# The attempt reader's own check of expected actions, so a scenario's ground truth is read by
# the same rules (shape, limits, what PostgreSQL can store) as an attempt's.
from practice import attempt_input
from practice.models import PracticeScenario, ScenarioStatus
from practice.services.scenarios import scenario_snapshot

# `accept_scenario`'s default for expected actions: keep them (None clears them).
UNCHANGED = object()
LABELS = {"prompt": "prompt", "difficulty": "difficulty", "expected_actions": "expected actions"}


def accept_scenario(
    scenario,
    *,
    actor,
    revision,
    prompt=None,
    difficulty=None,
    expected_actions=UNCHANGED,
    comment="",
):
    """Approve a proposed scenario with the reviewer's edits to its prompt, difficulty and
    expected actions (None: no ground truth); recorded as edit-then-accept when one changes."""
    edits = _read_edits(prompt, difficulty, expected_actions)
    with transaction.atomic():
        scenario = _open_scenario(scenario, actor, revision)
        before = scenario_snapshot(scenario)
        changed = [name for name, value in edits.items() if not _same(name, scenario, value)]
        for name in changed:
            setattr(scenario, name, edits[name])
        scenario = _decide_scenario(scenario, ScenarioStatus.APPROVED, changed)
        decision = _record(
            scenario,
            actor=actor,
            action=Action.EDIT_ACCEPT if changed else Action.ACCEPT,
            revision=revision,
            before=before,
            after=scenario_snapshot(scenario),
            comment=comment,
        )
        _drop_claim(scenario)
    done = (
        f"edited ({', '.join(LABELS[name] for name in changed)}) and approved"
        if changed
        else "approved"
    )
    return Outcome(
        scenario,
        decision,
        None,
        f"Scenario #{scenario.pk} {done}; the scheduler may now assign it for "
        f"{scenario.skill.key}.",
    )


def reject_scenario(scenario, *, actor, revision, reason_code, comment=""):
    """Reject a proposed scenario with a reason code (and a comment when the reason is 'other');
    the scheduler never assigns it."""
    _check_reason(reason_code, comment, required=True)
    with transaction.atomic():
        scenario = _open_scenario(scenario, actor, revision)
        before = scenario_snapshot(scenario)
        scenario = _decide_scenario(scenario, ScenarioStatus.REJECTED, [])
        decision = _record(
            scenario,
            actor=actor,
            action=Action.REJECT,
            revision=revision,
            before=before,
            after=scenario_snapshot(scenario),
            reason_code=reason_code,
            comment=comment,
        )
        _drop_claim(scenario)
    return Outcome(
        scenario,
        decision,
        None,
        f"Scenario #{scenario.pk} rejected ({Reason(reason_code).label.lower()}).",
    )


def read_expected_actions(value):
    """Expected actions as stored: a list of {name, arguments} (arguments default to {}), or
    None for none; InvalidDecision names every problem."""
    if value is None:
        return None
    actions, problems = attempt_input.read_expected_actions(value)
    if problems:
        raise InvalidDecision(
            "The expected actions are not usable: "
            + "; ".join(f"{problem.path} {problem.message}" for problem in problems)
            + "."
        )
    return actions


def _read_edits(prompt, difficulty, expected_actions):
    """The reviewer's edits that were given, checked before anything is locked."""
    edits = {}
    if prompt is not None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise InvalidDecision("The edit leaves the prompt empty.")
        if "\x00" in prompt:
            raise InvalidDecision("The prompt may not contain NUL characters.")
        edits["prompt"] = prompt.strip()
    if difficulty is not None:
        # The comparison also refuses NaN and infinities.
        if isinstance(difficulty, bool) or not isinstance(difficulty, int | float):
            raise InvalidDecision("The difficulty must be a number from 0 to 1.")
        if not 0 <= difficulty <= 1:
            raise InvalidDecision(f"The difficulty must be from 0 to 1, not {difficulty}.")
        edits["difficulty"] = float(difficulty)
    if expected_actions is not UNCHANGED:
        edits["expected_actions"] = read_expected_actions(expected_actions)
    return edits


def _same(name, scenario, value):
    current = getattr(scenario, name)
    if name == "expected_actions" and current is not None and value is not None:
        # Stored actions may leave out empty arguments; compare them as they read.
        try:
            current = read_expected_actions(current)
        except InvalidDecision:
            return False
    return current == value


def _open_scenario(scenario, actor, revision):
    _require(actor, REVIEW_PERMISSION, "decide practice scenarios")
    scenario = (
        PracticeScenario.objects.select_for_update(of=("self",))
        .select_related("skill")
        .get(pk=scenario.pk)
    )
    _check_claim(scenario, actor)
    _check_revision(scenario, revision)
    if scenario.status != ScenarioStatus.PROPOSED:
        raise InvalidDecision(f"Scenario #{scenario.pk} is already {scenario.status}.")
    return scenario


def _decide_scenario(scenario, status, changed):
    scenario.status = status
    scenario.revision += 1
    scenario.save(update_fields=["status", "revision", *changed])
    return scenario
