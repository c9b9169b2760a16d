"""How a simulated agent's daily practice is chosen: Etude's scheduler or a baseline.

- ``etude``: the real scheduler (practice.scheduler.schedule_practice) queues the day's
  practice, and the agent claims it item by item (practice.services.assignments), as a deployed
  agent does through GET /api/v1/practice/next/.
- ``random``: the same daily budget spent on skills drawn uniformly from the agent's
  practiceable skills that have scenarios, each on a scenario drawn uniformly from its bank.
- ``round-robin``: the same budget spent on those skills in turn (by key), each skill's
  scenarios taken in turn from easiest to hardest.
- ``oracle``: a ceiling, not a policy anyone can run: it reads the hidden levels, and spends the
  same budget on the skills truly below their mastery threshold plus the scheduler's margin
  (practice.scheduler.planning.MASTERY_MARGIN), the farthest below first, each on the scenario
  that teaches the agent most (oversight.simulation.model.fit). With ``oracle_error`` it reads
  each level with a fixed error of that standard deviation (drawn once per agent and skill),
  like an estimate that is right on average but wrong for a given skill; with ``oracle_margin``
  it practices each skill to that many logits above its mastery level instead of the
  scheduler's margin (a wider margin is how a policy that knows its error could allow for it).

The baselines read the same scenario bank but queue nothing: their practice is reported as
practice attempts without a scenario id (there is no assignment to complete). Such an attempt,
when it fails, is replayed into the bank like a failed live task, whereas Etude's practice
attempts name their scenario and are never replayed; so the baselines leave the replays of their
own practice out of their draws, and every policy draws from the same kind of bank (the
operators' scenarios and the replays of failed live tasks), not one skewed toward the tasks a
baseline happened to fail.
"""

import random

from oversight.simulation import model
from oversight.simulation.traces import task_from_scenario
from practice.models import Attempt, PracticeScenario, ScenarioOrigin, ScenarioStatus
from practice.scheduler import schedule_practice
from practice.scheduler.planning import MASTERY_MARGIN, practiceable_skills
from practice.scheduler.queue import daily_budget
from practice.services.assignments import claim_next_assignment

POLICIES = ("etude", "random", "round-robin", "oracle")


def practice_tasks(policy, state, *, now, rng, oracle_error=0.0, oracle_margin=None):
    """The practice tasks the agent works on today under ``policy``, in order."""
    if policy == "etude":
        return _scheduled(state.agent, now)
    bank = baseline_bank(state.agent)
    skills = sorted(bank)
    if not skills:
        return []
    budget = daily_budget()
    if policy == "oracle":
        return _oracle(state, bank, budget, oracle_error, oracle_margin)
    tasks = []
    for _ in range(budget):
        if policy == "random":
            skill_key = skills[rng.randrange(len(skills))]
            scenario = bank[skill_key][rng.randrange(len(bank[skill_key]))]
        elif policy == "round-robin":
            skill_key = skills[state.next_skill % len(skills)]
            state.next_skill += 1
            turn = state.next_scenario.get(skill_key, 0)
            state.next_scenario[skill_key] = turn + 1
            scenario = bank[skill_key][turn % len(bank[skill_key])]
        else:
            raise ValueError(f"unknown practice policy {policy!r}; choose from {POLICIES}")
        tasks.append(task_from_scenario(scenario, source="practice"))
    return tasks


def _oracle(state, bank, budget, error, margin=None):
    margin = MASTERY_MARGIN if margin is None else margin
    needs = []  # (-gap, skill key, level as read)
    for skill_key, scenarios in sorted(bank.items()):
        hidden = state.hidden.get(skill_key)
        if hidden is None:
            continue
        misread = random.Random(f"{state.agent.name}:{skill_key}:oracle").gauss(0.0, error)
        level = hidden.level + misread
        gap = model.mastery_level(scenarios[0].skill.mastery_threshold) + margin - level
        if gap > 0:
            needs.append((-gap, skill_key, level))
    needs.sort()
    tasks, used = [], set()
    while len(tasks) < budget:
        before = len(tasks)
        for _, skill_key, level in needs:
            fresh = [scenario for scenario in bank[skill_key] if scenario.pk not in used]
            if len(tasks) == budget or not fresh:
                continue
            best = max(
                fresh,
                key=lambda scenario, level=level: model.fit(
                    model.success_probability(level, scenario.difficulty)
                ),
            )
            used.add(best.pk)
            tasks.append(task_from_scenario(best, source="practice"))
        if len(tasks) == before:
            break
    return tasks


def _scheduled(agent, now):
    # Simulated agents never ask the LLM coach for variants, whatever the settings say.
    schedule_practice(agent, now=now, request_variants=False)
    tasks = []
    while (assignment := claim_next_assignment(agent)) is not None:
        tasks.append(
            task_from_scenario(
                assignment.scenario, source="practice", scenario_id=assignment.scenario_id
            )
        )
    return tasks


def baseline_bank(agent):
    """The agent's practiceable skills' approved scenarios, by skill key, easiest first, without
    the replays of practice attempts (see the module docstring)."""
    scenarios = (
        PracticeScenario.objects.filter(
            skill__in=practiceable_skills(agent), status=ScenarioStatus.APPROVED
        )
        .exclude(origin=ScenarioOrigin.REPLAY, source_attempt__source=Attempt.Source.PRACTICE)
        .select_related("skill")
        .order_by("skill__key", "difficulty", "pk")
    )
    bank = {}
    for scenario in scenarios:
        bank.setdefault(scenario.skill.key, []).append(scenario)
    return bank
