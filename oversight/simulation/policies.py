"""How a simulated agent's daily practice is chosen: Etude's scheduler or a baseline.

- ``etude``: the real scheduler (practice.scheduler.schedule_practice) queues the day's
  practice, and the agent claims it item by item (practice.services.assignments), as a deployed
  agent does through GET /api/v1/practice/next/.
- ``random``: the same daily budget spent on skills drawn uniformly from the agent's
  practiceable skills that have scenarios, each on a scenario drawn uniformly from its bank.
- ``round-robin``: the same budget spent on those skills in turn (by key), each skill's
  scenarios taken in turn from easiest to hardest.

The baselines read the same scenario bank but queue nothing: their practice is reported as
practice attempts without a scenario id (there is no assignment to complete).
"""

from oversight.simulation.traces import task_from_scenario
from practice.models import PracticeScenario, ScenarioStatus
from practice.scheduler import schedule_practice
from practice.scheduler.planning import practiceable_skills
from practice.scheduler.queue import daily_budget
from practice.services.assignments import claim_next_assignment

POLICIES = ("etude", "random", "round-robin")


def practice_tasks(policy, state, *, now, rng):
    """The practice tasks the agent works on today under ``policy``, in order."""
    if policy == "etude":
        return _scheduled(state.agent, now)
    bank = _bank(state.agent)
    skills = sorted(bank)
    if not skills:
        return []
    budget = daily_budget()
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


def _scheduled(agent, now):
    schedule_practice(agent, now=now)
    tasks = []
    while (assignment := claim_next_assignment(agent)) is not None:
        tasks.append(
            task_from_scenario(
                assignment.scenario, source="practice", scenario_id=assignment.scenario_id
            )
        )
    return tasks


def _bank(agent):
    """The agent's practiceable skills' approved scenarios, by skill key, easiest first."""
    scenarios = (
        PracticeScenario.objects.filter(
            skill__in=practiceable_skills(agent), status=ScenarioStatus.APPROVED
        )
        .select_related("skill")
        .order_by("skill__key", "difficulty", "pk")
    )
    bank = {}
    for scenario in scenarios:
        bank.setdefault(scenario.skill.key, []).append(scenario)
    return bank
