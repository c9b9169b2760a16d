"""Scenario banks: loading operators' scenario files, replaying failed attempts, and variants
of existing scenarios written by the LLM coach.

A variant is asked for with `request_variant` (an operator, the `write_variant` command) or
`request_variants_for_bank_gaps` (the scheduler, when a skill's bank has nothing at the
difficulty an agent needs). Each request gets a key and goes to the workers, which run
`write_variant`: the coach writes outside any transaction, then the variant is stored as a
proposed scenario keyed by the request, so a request run twice stores one. A failed coach call
stores nothing and raises VariantError. A proposed variant waits for a reviewer; the scheduler
only uses approved scenarios.
"""

import logging
import math
import numbers
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from practice.coach.base import CoachError
from practice.models import PracticeScenario, ScenarioOrigin, ScenarioStatus
from practice.scenario_file import ScenarioFileError
from practice.services.errors import PracticeError
from taxonomy.models import Skill
from taxonomy.signals import record_change

logger = logging.getLogger(__name__)

REPLAY_DIFFICULTY = 0.5
UPDATABLE_FIELDS = ("difficulty", "prompt", "expected_actions")
# A variant closer to its original than this adds nothing to the bank.
MIN_DIFFICULTY_CHANGE = 0.05
# After reviewers reject a variant of a skill, the scheduler waits this long before asking for
# another one for that skill (operators may still ask at any time).
REJECTED_VARIANT_PAUSE_DAYS = 7
VARIANT_KEY_PREFIX = "variant-"
SCHEDULER = "the scheduler"
NO_LLM_COACH = (
    "No LLM coach is configured, and only the LLM coach writes variants: set OPENAI_BASE_URL "
    "and ETUDE_COACH_MODEL."
)


class VariantError(PracticeError):
    """The LLM coach could not write a variant; nothing was stored. The message says why."""


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


# --- LLM-written variants -----------------------------------------------------------------


def llm_coach_configured():
    """True when an LLM coach is configured. Read from the settings alone: the variant writer
    imports the openai package, a second's work a process without an LLM coach never needs."""
    return bool(settings.OPENAI_BASE_URL and settings.ETUDE_COACH_MODEL)


def check_variant_request(scenario, difficulty):
    """The difficulty as a float when a variant of `scenario` may be asked for at it;
    PracticeError saying why not otherwise."""
    if not llm_coach_configured():
        raise PracticeError(NO_LLM_COACH)
    return _checked_difficulty(scenario, difficulty)


def request_variant(scenario, difficulty, *, requested_by=None):
    """Queue the writing of a variant of an approved scenario at `difficulty` (see
    check_variant_request); returns the request's key. The variant arrives proposed."""
    difficulty = check_variant_request(scenario, difficulty)
    return _queue_variant(scenario, difficulty, requester=requester_label(requested_by))


def request_variants_for_bank_gaps(wanted):
    """The scheduler's requests: `wanted` holds (scenario, target difficulty) for picks whose
    scenario lay outside the target band. At most one variant per skill, of the first scenario
    named for it, and none for a skill that already has a proposed variant waiting, or one
    rejected in the last REJECTED_VARIANT_PAUSE_DAYS days, or when no LLM coach is configured.
    Returns the request keys."""
    if not wanted or not llm_coach_configured():
        return []
    skills = {scenario.skill_id for scenario, _ in wanted}
    recently_rejected = PracticeScenario.objects.filter(
        origin=ScenarioOrigin.VARIANT,
        status=ScenarioStatus.REJECTED,
        created_at__gte=timezone.now() - timedelta(days=REJECTED_VARIANT_PAUSE_DAYS),
    )
    waiting = set(
        _waiting_variants().filter(skill_id__in=skills).values_list("skill_id", flat=True)
    ) | set(recently_rejected.filter(skill_id__in=skills).values_list("skill_id", flat=True))
    keys = []
    for scenario, difficulty in wanted:
        if scenario.skill_id in waiting:
            continue
        waiting.add(scenario.skill_id)
        try:
            difficulty = _checked_difficulty(scenario, round(difficulty, 2))
        except PracticeError as refusal:
            logger.info("No variant asked for: %s", refusal)
            continue
        keys.append(_queue_variant(scenario, difficulty, requester=SCHEDULER, unless_waiting=True))
    return keys


def write_variant(
    scenario_id, difficulty, request_key, *, writer=None, requested_by="", unless_waiting=False
):
    """Have the LLM coach write the requested variant and store it as a proposed scenario with
    the key variant-<request_key>. Returns (variant, created): the variant an earlier run of the
    same request stored is returned as it is; (None, False) when `unless_waiting` and the skill
    already has a proposed variant. VariantError when the coach fails (nothing is stored),
    PracticeError when the original may no longer be varied."""
    key = variant_key(request_key)
    existing = PracticeScenario.objects.filter(key=key).first()
    if existing is not None:
        return existing, False
    original = PracticeScenario.objects.select_related("skill").filter(pk=scenario_id).first()
    if original is None:
        raise PracticeError(f"There is no scenario #{scenario_id}.")
    difficulty = _checked_difficulty(original, difficulty)
    if unless_waiting and _waiting_variants().filter(skill_id=original.skill_id).exists():
        return None, False
    writer = writer or _configured_writer()
    try:
        draft = writer.write(scenario_view(original), difficulty)
    except CoachError as error:
        logger.warning(
            "The LLM coach wrote no variant of scenario %s at %.2f (request %s): %s",
            scenario_label(original),
            difficulty,
            request_key,
            error.message,
        )
        raise VariantError(
            f"The LLM coach could not write a variant of scenario {scenario_label(original)} "
            f"at difficulty {difficulty:.2f}: {error.message}"
        ) from error
    with transaction.atomic():
        if unless_waiting:
            # Two automatic requests for one skill: the second waits here, then sees the first.
            Skill.objects.select_for_update().filter(pk=original.skill_id).first()
            if _waiting_variants().filter(skill_id=original.skill_id).exists():
                return None, False
        original = (
            PracticeScenario.objects.select_for_update(of=("self",))
            .select_related("skill")
            .get(pk=original.pk)
        )
        _checked_difficulty(original, difficulty)
        variant, created = PracticeScenario.objects.get_or_create(
            key=key,
            defaults={
                "skill_id": original.skill_id,
                "difficulty": difficulty,
                "prompt": draft.prompt,
                "expected_actions": draft.expected_actions,
                "note": draft.note,
                "origin": ScenarioOrigin.VARIANT,
                "status": ScenarioStatus.PROPOSED,
                "variant_of": original,
            },
        )
        if created:
            record_change(
                actor=None,
                action="scenario.proposed",
                object_type="scenario",
                object_id=variant.pk,
                after=scenario_snapshot(variant),
                reason=f"LLM-written variant of scenario {scenario_label(original)} at "
                f"difficulty {difficulty:.2f}, asked for by {requested_by or 'an operator'}; "
                f"written by {draft.model} ({draft.prompt_version})",
            )
    if created:
        logger.info("Proposed variant %s of scenario %s", variant.key, scenario_label(original))
    return variant, created


def new_request_key():
    """A fresh key for a variant request."""
    return uuid.uuid4().hex


def variant_key(request_key):
    """The scenario key of the variant a request writes."""
    return f"{VARIANT_KEY_PREFIX}{request_key}"


def requester_label(requested_by):
    """Who asked for a variant, as text for the log and the audit event."""
    if requested_by is None:
        return ""
    if hasattr(requested_by, "get_username"):
        return requested_by.get_username()
    return str(requested_by)


def scenario_label(scenario):
    """How messages name a scenario: its key and id, or its id."""
    return f"{scenario.key} (#{scenario.pk})" if scenario.key else f"#{scenario.pk}"


def scenario_snapshot(scenario):
    """A scenario as JSON-ready data, for the audit log."""
    return {
        "key": scenario.key,
        "skill": scenario.skill.key,
        "difficulty": scenario.difficulty,
        "prompt": scenario.prompt,
        "expected_actions": scenario.expected_actions,
        "origin": scenario.origin,
        "status": scenario.status,
        "variant_of": scenario.variant_of_id,
        "note": scenario.note,
        "revision": scenario.revision,
    }


def scenario_view(scenario):
    """The scenario as the variant writer reads it."""
    expected_actions = scenario.expected_actions
    return _variants().ScenarioView(
        label=scenario_label(scenario),
        skill_key=scenario.skill.key,
        skill_name=scenario.skill.name,
        skill_description=scenario.skill.description,
        difficulty=scenario.difficulty,
        prompt=scenario.prompt,
        expected_actions=expected_actions if isinstance(expected_actions, list) else None,
    )


def _checked_difficulty(scenario, difficulty):
    if (
        isinstance(difficulty, bool)
        or not isinstance(difficulty, numbers.Real)
        or not math.isfinite(difficulty)
        or not 0 <= difficulty <= 1
    ):
        raise PracticeError(f"The difficulty must be a number from 0 to 1, not {difficulty!r}.")
    difficulty = float(difficulty)
    if scenario.status != ScenarioStatus.APPROVED:
        state = (
            "a variant still awaiting review"
            if scenario.origin == ScenarioOrigin.VARIANT
            and scenario.status == ScenarioStatus.PROPOSED
            else ScenarioStatus(scenario.status).label.lower()
        )
        raise PracticeError(
            f"Scenario {scenario_label(scenario)} is {state}; only an approved scenario can be "
            "varied."
        )
    # Rounded: 0.75 - 0.7 is 0.04999... in floating point.
    if round(abs(difficulty - scenario.difficulty), 9) < MIN_DIFFICULTY_CHANGE:
        raise PracticeError(
            f"Scenario {scenario_label(scenario)} is at difficulty {scenario.difficulty:.2f}; "
            f"ask for a variant at least {MIN_DIFFICULTY_CHANGE:.2f} harder or easier."
        )
    return difficulty


def _queue_variant(scenario, difficulty, *, requester, unless_waiting=False):
    # The tasks module imports this one.
    from practice.tasks import write_scenario_variant

    request_key = new_request_key()
    write_scenario_variant.delay_on_commit(
        scenario.pk,
        difficulty,
        request_key,
        requested_by=requester,
        unless_waiting=unless_waiting,
    )
    logger.info(
        "Asked for a variant of scenario %s at %.2f (request %s, by %s)",
        scenario_label(scenario),
        difficulty,
        request_key,
        requester or "an operator",
    )
    return request_key


def _waiting_variants():
    return PracticeScenario.objects.filter(
        origin=ScenarioOrigin.VARIANT, status=ScenarioStatus.PROPOSED
    )


def _configured_writer():
    if not llm_coach_configured():
        raise PracticeError(NO_LLM_COACH)
    return _variants().variant_writer()


def _variants():
    # Imported on first use: it imports the openai package (see llm_coach_configured).
    from practice.coach import variants

    return variants


# --- loading scenario files ---------------------------------------------------------------


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
