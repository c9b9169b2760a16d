"""Scenario banks: loading operators' scenario files and replaying failed attempts."""

from dataclasses import dataclass, field

from django.db import transaction

from practice.models import PracticeScenario, ScenarioOrigin, ScenarioStatus
from practice.scenario_file import ScenarioFileError
from taxonomy.models import Skill

REPLAY_DIFFICULTY = 0.5
UPDATABLE_FIELDS = ("difficulty", "prompt", "expected_actions")


@dataclass
class ScenarioLoadReport:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)


def load_scenarios(definitions, *, progress=None):
    """Create or update scenarios by key from parsed definitions (see practice.scenario_file).

    Idempotent; all or nothing (ScenarioFileError names the line of each unknown skill). A
    scenario keeps its skill and status; a reload updates its difficulty, prompt and actions."""
    definitions = list(definitions)
    report = ScenarioLoadReport()
    with transaction.atomic():
        skills = Skill.objects.in_bulk(
            {definition["skill"] for definition in definitions}, field_name="key"
        )
        existing = PracticeScenario.objects.select_related("skill").in_bulk(
            [definition["key"] for definition in definitions], field_name="key"
        )
        problems = _problems(definitions, skills, existing)
        if problems:
            raise ScenarioFileError(problems)
        for index, definition in enumerate(definitions, start=1):
            _apply(definition, skills[definition["skill"]], existing.get(definition["key"]), report)
            if progress:
                progress(index, len(definitions), definition["key"])
    return report


def replay_failed_attempt(attempt):
    """The replay scenario of a failed in-bounds attempt with a task input (created once), or
    None when the attempt cannot be replayed."""
    if attempt.success or attempt.out_of_bounds or not attempt.task_input.strip():
        return None
    # An attempt on a scenario failed that very scenario, which is already in the bank.
    if attempt.scenario_id is not None:
        return None
    with transaction.atomic():
        scenario, _ = PracticeScenario.objects.get_or_create(
            source_attempt=attempt,
            defaults={
                "skill_id": attempt.skill_id,
                "difficulty": REPLAY_DIFFICULTY
                if attempt.difficulty is None
                else attempt.difficulty,
                "prompt": attempt.task_input,
                "expected_actions": attempt.expected_actions,
                "origin": ScenarioOrigin.REPLAY,
                "status": ScenarioStatus.APPROVED,
            },
        )
    return scenario


def _problems(definitions, skills, existing):
    problems = []
    for definition in definitions:
        line = definition.get("skill_line") or definition.get("line")
        skill = skills.get(definition["skill"])
        if skill is None:
            problems.append((line, f"{definition['key']}: unknown skill {definition['skill']}"))
            continue
        if skill.kind == Skill.Kind.CATEGORY:
            problems.append(
                (
                    line,
                    f"{definition['key']}: {skill.key} is a category; scenarios belong to one of "
                    "its skills or failure modes",
                )
            )
        scenario = existing.get(definition["key"])
        if scenario is not None and scenario.skill_id != skill.pk:
            problems.append(
                (
                    line,
                    f"{definition['key']} already belongs to {scenario.skill.key}; a scenario "
                    "keeps its skill (retire it and use a new key)",
                )
            )
    return problems


def _apply(definition, skill, scenario, report):
    fields = {name: definition[name] for name in UPDATABLE_FIELDS}
    if scenario is None:
        PracticeScenario.objects.create(
            key=definition["key"],
            skill=skill,
            origin=ScenarioOrigin.OPERATOR,
            status=ScenarioStatus.APPROVED,
            **fields,
        )
        report.created.append(definition["key"])
        return
    changed = [name for name, value in fields.items() if getattr(scenario, name) != value]
    if not changed:
        report.unchanged.append(definition["key"])
        return
    for name in changed:
        setattr(scenario, name, fields[name])
    scenario.save(update_fields=changed)
    report.updated.append(definition["key"])
