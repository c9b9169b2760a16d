"""Running the simulation through the real service layer, one simulated day at a time.

Each day, for each agent (by name): the practice policy gives the day's practice tasks
(Etude's scheduler queues them and the agent claims them), then come the live tasks, each on a
skill drawn from the agent's practiceable skills. Before each task the agent pulls its memory
for the skill as the API does (practice.memory over the current release, within its
boundaries); its chance of success comes from its hidden level (oversight.simulation.model),
lifted when approved strategies come back. It reports the attempt through
practice.services.attempts.record_attempts, naming the strategy versions it used, and the work
the Celery task process_new_attempts would do follows in the task's order: competency, a
replay scenario for a failure, and a reflection by the offline trace-diff coach (which files
strategies and taxonomy proposals).

Simulated time: the rows the simulation causes are moved to their simulated moment
(oversight.simulation.backdating). The simulated days end yesterday, so claimed practice is
never in the future.

While it runs, the simulation does the background work itself, so it detaches the
after-commit hooks of the attempts service (which would hand the same attempts to Celery a
second time) and puts them back afterwards. Each simulated day is one transaction.

Auto-approval (only with the setting ETUDE_SIMULATION_AUTO_APPROVE): after each day, part of
the strategies filed from the day's attempts go live and a release is published
(oversight.simulation.approval).

The configuration and the reports are dataclasses in oversight.simulation.config; like the
approval names, they can still be imported from here.

Reproducible: every random draw comes from streams seeded by the seed and the agent's name,
and everything iterated is in a fixed order, so the same seed on the same database state gives
the same outcomes.
"""

import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from oversight.simulation import approval, backdating, model
from oversight.simulation.approval import AUTO_APPROVER, auto_approval_enabled
from oversight.simulation.config import (
    DayReport,
    Outcome,
    SimulationConfig,
    SimulationError,
    SimulationReport,
)
from oversight.simulation.policies import POLICIES, practice_tasks
from oversight.simulation.traces import attempt_payload, live_variant, task_from_scenario
from practice import memory
from practice.coach.offline import TraceDiffCoach
from practice.models import (
    Agent,
    Attempt,
    PracticeScenario,
    ScenarioOrigin,
    ScenarioStatus,
    Strategy,
)
from practice.scheduler.planning import practiceable_skills
from practice.services import agents as agent_services
from practice.services import attempts as attempt_services
from practice.services import competency, reflection, scenarios, strategies
from taxonomy.models import Skill, TaxonomyProposal

__all__ = [
    "AUTO_APPROVER",
    "EXTERNAL_ID_PREFIX",
    "AgentState",
    "DayReport",
    "Outcome",
    "Simulation",
    "SimulationConfig",
    "SimulationError",
    "SimulationReport",
    "auto_approval_enabled",
    "background_hooks_detached",
    "run_simulation",
    "simulated_history_exists",
]

EXTERNAL_ID_PREFIX = "simulation:"
AGENT_CREATOR = "simulation"
MEMORY_LIMIT = 3
DAY_STARTS = time(8, 0)
MINUTES_BETWEEN_TASKS = 10
# Simulated agents by profile: the top-level skills they are authorized for (None: all).
PROFILES = (
    ("returns", ("tools", "policy")),
    ("triage", ("intent", "escalation", "tone")),
    ("support", None),
)


@dataclass
class AgentState:
    """One driven agent: the product's row and what only the simulation knows about it."""

    agent: Agent
    boundaries: list
    hidden: dict  # skill key -> model.HiddenSkill
    rng: random.Random
    live_skills: list  # skill keys with operator scenarios, for live tasks
    practiced: dict = field(default_factory=dict)  # skill key -> practice attempts
    practice_attempts: int = 0
    next_skill: int = 0  # round-robin
    next_scenario: dict = field(default_factory=dict)

    def allowed(self, key):
        return any(key == root or key.startswith(f"{root}.") for root in self.boundaries)


def simulated_history_exists():
    return Attempt.objects.filter(external_id__startswith=EXTERNAL_ID_PREFIX).exists()


def run_simulation(config, *, progress=None):
    """Run the whole simulation; ``progress`` is called with each DayReport."""
    simulation = Simulation(config)
    with background_hooks_detached():
        simulation.set_up()
        for number in range(config.days):
            day = simulation.run_day(number)
            if progress:
                progress(day)
    return simulation.report


@contextmanager
def background_hooks_detached():
    """Keep record_attempts from handing attempts to Celery while the simulation does that
    work itself; the hooks are back afterwards, whatever happens."""
    saved = list(attempt_services.after_commit_hooks)
    attempt_services.after_commit_hooks.clear()
    try:
        yield
    finally:
        attempt_services.after_commit_hooks[:] = saved


class Simulation:
    """The state of one run. run_day and idle may be called in any sequence (the benchmark
    idles between phases)."""

    def __init__(self, config):
        if config.policy not in POLICIES:
            raise SimulationError(
                f"Unknown practice policy {config.policy!r}; choose from {', '.join(POLICIES)}."
            )
        if not 0.0 <= config.auto_approve_share <= 1.0:
            raise SimulationError("The auto-approval share must lie between 0 and 1.")
        if config.days < 0 or config.agents < 0 or config.live_tasks_per_day < 0:
            raise SimulationError("Days, agents and live tasks per day cannot be negative.")
        self.config = config
        today = timezone.now().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.start = config.start or today - timedelta(days=config.days)
        if self.start + timedelta(days=config.days) > today:
            raise SimulationError("Simulated days cannot lie in the future: they end yesterday.")
        self.coach = TraceDiffCoach()
        self.approval_rng = random.Random(f"{config.seed}:approval")
        self.states = []
        self.report = SimulationReport()
        self.scenario_cache = {}
        self.auto_approve = auto_approval_enabled() and config.auto_approve_share > 0

    # --- setting up -------------------------------------------------------------------------

    def set_up(self):
        with transaction.atomic():
            for name in sorted(self.config.drive_agents):
                agent = Agent.objects.filter(name=name).first()
                if agent is None:
                    raise SimulationError(f"No agent named {name} to drive.")
                self.states.append(self._state_for(agent))
            for agent in self._new_agents():
                self.report.created_agents.append(agent.name)
                self.states.append(self._state_for(agent))
        self.states.sort(key=lambda state: state.agent.name)
        self.report.agents = [state.agent.name for state in self.states]

    def _new_agents(self):
        roots = list(
            Skill.objects.filter(parent=None).order_by("key").values_list("key", flat=True)
        )
        if not roots:
            raise SimulationError("The taxonomy is empty; load one before simulating.")
        number = Agent.objects.filter(simulated=True).count()
        agents = []
        for index in range(self.config.agents):
            profile, wanted = PROFILES[index % len(PROFILES)]
            boundaries = [key for key in roots if wanted is None or key in wanted] or roots
            number += 1
            while Agent.objects.filter(name=f"sim-{profile}-{number}").exists():
                number += 1
            agents.append(
                agent_services.create_agent(
                    name=f"sim-{profile}-{number}",
                    description=(
                        f"(simulation) A simulated {profile} agent with hidden skill levels, "
                        f"driven by the simulation (seed {self.config.seed}); not a real agent."
                    ),
                    boundaries=boundaries,
                    simulated=True,
                    actor=AGENT_CREATOR,
                )
            )
        return agents

    def _state_for(self, agent):
        # Sorted here, not by the database: collations differ between SQLite and PostgreSQL.
        skill_keys = sorted(practiceable_skills(agent).values_list("key", flat=True))
        with_scenarios = set(
            PracticeScenario.objects.filter(
                skill__key__in=skill_keys,
                status=ScenarioStatus.APPROVED,
                origin=ScenarioOrigin.OPERATOR,
            ).values_list("skill__key", flat=True)
        )
        levels_rng = random.Random(f"{self.config.seed}:{agent.name}:levels")
        return AgentState(
            agent=agent,
            boundaries=sorted(agent.boundaries.values_list("key", flat=True)),
            hidden=model.starting_levels(levels_rng, skill_keys, self.config.aptitude),
            rng=random.Random(f"{self.config.seed}:{agent.name}:tasks"),
            live_skills=sorted(with_scenarios),
        )

    # --- one day ----------------------------------------------------------------------------

    def run_day(self, number, *, live_tasks=None):
        """Simulate day ``number`` (from 0) after the start: practice, live tasks (the
        configured number unless given), reflection, auto-approval, forgetting."""
        if live_tasks is None:
            live_tasks = self.config.live_tasks_per_day
        midnight = self.start + timedelta(days=number)
        report = DayReport(number=number + 1, date=midnight.date())
        with transaction.atomic():
            first_strategy = Strategy.objects.aggregate(top=Max("pk"))["top"] or 0
            first_proposal = TaxonomyProposal.objects.aggregate(top=Max("pk"))["top"] or 0
            day_attempts = []
            for state in self.states:
                day_attempts += self._agent_day(state, number, midnight, live_tasks, report)
            backdating.date_back(set(day_attempts), first_strategy, first_proposal)
            report.proposed = (
                Strategy.objects.filter(
                    pk__gt=first_strategy,
                    status=Strategy.Status.PROPOSED,
                    evidence_links__attempt__in=day_attempts,
                )
                .distinct()
                .count()
            )
            if self.auto_approve:
                approval.auto_approve(
                    first_strategy,
                    day_attempts,
                    report,
                    rng=self.approval_rng,
                    share=self.config.auto_approve_share,
                )
        self.report.days.append(report)
        return report

    def idle(self, days):
        """Let ``days`` pass with no attempt at all: every skill forgets."""
        for state in self.states:
            for key, skill in state.hidden.items():
                state.hidden[key] = model.forgotten(skill, days)

    def _agent_day(self, state, number, midnight, live_tasks, report):
        morning = midnight + timedelta(hours=DAY_STARTS.hour)
        tasks = practice_tasks(
            self.config.policy,
            state,
            now=morning,
            rng=state.rng,
            oracle_error=self.config.oracle_error,
            oracle_margin=self.config.oracle_margin,
        )
        tasks += [self._live_task(state) for _ in range(live_tasks)]
        attempted = set()
        attempt_ids = []
        for index, task in enumerate(task for task in tasks if task is not None):
            at = morning + timedelta(minutes=MINUTES_BETWEEN_TASKS * (index + 1))
            attempt = self._attempt(state, task, number, index, at, report)
            attempted.add(task.skill_key)
            attempt_ids.append(attempt.pk)
        for key, skill in state.hidden.items():
            if key not in attempted:
                state.hidden[key] = model.forgotten(skill, 1)
        return attempt_ids

    def _live_task(self, state):
        if not state.live_skills:
            return None
        skill_key = state.live_skills[state.rng.randrange(len(state.live_skills))]
        bank = self._operator_scenarios(skill_key)
        scenario = bank[state.rng.randrange(len(bank))]
        return live_variant(task_from_scenario(scenario, source="live"), state.rng)

    def _operator_scenarios(self, skill_key):
        if skill_key not in self.scenario_cache:
            self.scenario_cache[skill_key] = list(
                PracticeScenario.objects.filter(
                    skill__key=skill_key,
                    status=ScenarioStatus.APPROVED,
                    origin=ScenarioOrigin.OPERATOR,
                )
                .select_related("skill")
                .order_by("difficulty", "pk")
            )
        return self.scenario_cache[skill_key]

    # --- one attempt ------------------------------------------------------------------------

    def _attempt(self, state, task, number, index, at, report):
        pulled = self._pull_memory(state, task)
        hidden = state.hidden.get(task.skill_key)
        if hidden is None:
            # A skill the taxonomy grew during the run starts where the agent's average is.
            start = sum(skill.start for skill in state.hidden.values()) / max(len(state.hidden), 1)
            hidden = state.hidden[task.skill_key] = model.HiddenSkill(level=start, start=start)
        bonus = model.strategy_bonus(len(pulled))
        success = state.rng.random() < model.success_probability(
            hidden.level, task.difficulty, bonus
        )
        payload = attempt_payload(
            task,
            success=success,
            rng=state.rng,
            external_id=(
                f"{EXTERNAL_ID_PREFIX}{self.start:%Y%m%d}:{self.config.seed}:"
                f"{number + 1:03d}:{index:02d}"
            ),
            used_strategies=[item.entry.version_id for item in pulled],
        )
        stored = attempt_services.record_attempts(state.agent, [payload]).items[0]
        if not stored.created:
            raise SimulationError(
                f"Attempt {payload['external_id']} of {state.agent.name} was already simulated."
            )
        attempt = self._process(stored.attempt, at)
        practice = task.source == "practice"
        state.hidden[task.skill_key] = hidden.advanced(
            model.learning_gain(hidden, task.difficulty, practice=practice, strategies=len(pulled))
        )
        if practice:
            state.practice_attempts += 1
            state.practiced[task.skill_key] = state.practiced.get(task.skill_key, 0) + 1
        report.attempts += 1
        report.practice += int(practice)
        report.successes += int(success)
        self.report.outcomes.append(
            Outcome(
                day=number + 1,
                agent=state.agent.name,
                skill=task.skill_key,
                source=task.source,
                difficulty=task.difficulty,
                success=success,
                strategies=len(pulled),
                level=hidden.level,
            )
        )
        return attempt

    def _pull_memory(self, state, task):
        """The approved strategies the agent gets for the skill, as GET /api/v1/memory/ ranks them."""
        release = strategies.current_release()
        if release is None:
            return []
        entries = memory.candidate_entries(release, task.skill_key, state.allowed)
        return memory.rank(entries, task.prompt, MEMORY_LIMIT)

    def _process(self, attempt, at):
        """Move the attempt to its simulated moment, then do what process_new_attempts does."""
        backdating.date_attempt(attempt, at)
        competency.record_outcome(attempt)
        if not attempt.success:
            scenarios.replay_failed_attempt(attempt)
        reflection.reflect_attempt(attempt.pk, coach=self.coach)
        return attempt
