"""The demo workspace `make run` starts with: the demo taxonomy and scenario bank, three
agents, one user per role, and a few weeks of simulated history.

The history comes from the simulation (oversight.simulation) and is created once, when no
simulated history exists yet: simulated agents and the three demo agents work live and
practice tasks through the real services, the offline coach reflects on every attempt, and the
auto-approval of the simulation (setting ETUDE_SIMULATION_AUTO_APPROVE) accepts part of the
strategies, so the heatmap, the learning curves and the review queue are populated on first
start. Then each demo agent gets today's practice queue from the scheduler.

For development only: the users get fixed, printed passwords.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from oversight.services import Role, assign_role
from oversight.simulation import (
    SimulationConfig,
    auto_approval_enabled,
    run_simulation,
    simulated_history_exists,
)
from practice.models import Agent, PracticeAssignment
from practice.scenario_file import parse_scenarios
from practice.scheduler import schedule_practice
from practice.services import agents as agent_services
from practice.services.scenarios import load_scenarios
from taxonomy import services as taxonomy_services
from taxonomy.taxonomy_file import parse_taxonomy

ROOT = Path(__file__).resolve().parent.parent
DEMO_TAXONOMY = ROOT / "taxonomy" / "fixtures" / "demo_taxonomy.yaml"
DEMO_SCENARIOS = ROOT / "practice" / "fixtures" / "demo_scenarios.yaml"

DEMO_AGENTS = [
    (
        "support-bot",
        "General customer-service agent: answers questions and acts on orders. "
        "(Demo agent: its first weeks of history come from the simulation.)",
        ["intent", "retrieval", "explaining", "tools", "policy", "escalation", "tone"],
    ),
    (
        "returns-bot",
        "Handles returns, exchanges and refunds with the order tools. "
        "(Demo agent: its first weeks of history come from the simulation.)",
        ["tools", "policy"],
    ),
    (
        "triage-bot",
        "First contact: works out what the customer needs and routes or escalates. "
        "(Demo agent: its first weeks of history come from the simulation.)",
        ["intent", "escalation", "tone"],
    ),
]

DEMO_USERS = [
    # (user name, role, password, staff: may open the admin with its role's permissions)
    ("reviewer", Role.REVIEWER, "etude-reviewer-demo", False),
    ("operator", Role.OPERATOR, "etude-operator-demo", True),
    ("auditor", Role.AUDITOR, "etude-auditor-demo", True),
    ("admin", Role.ADMIN, "etude-admin-demo", True),
]


@dataclass(frozen=True)
class DemoHistory:
    """How much history the simulation gives the demo workspace on its first load."""

    days: int = 21
    simulated_agents: int = 4
    seed: int = 7
    live_tasks_per_day: int = 4
    # Newly deployed agents: a typical skill succeeds on a medium task about three times in
    # four, so there is plenty to learn and to review.
    aptitude: float = 1.0
    auto_approve_share: float = 0.5


@dataclass
class DemoReport:
    skills_created: int = 0
    scenarios_created: int = 0
    new_keys: dict = field(default_factory=dict)  # agent name -> key text, shown once
    existing_agents: list = field(default_factory=list)
    users: list = field(default_factory=list)  # (name, role, password, created)
    history: object = None  # the SimulationReport when history was simulated by this load
    practice_queued: dict = field(default_factory=dict)  # demo agent name -> items queued now


def load_demo_workspace(*, progress=None, history=DemoHistory()):
    """Create whatever of the demo workspace is missing; existing parts are reused. Simulated
    history (``history``, None for none) is added only when there is none yet."""
    report = DemoReport()
    say = progress or (lambda line: None)
    with transaction.atomic():
        definitions = parse_taxonomy(DEMO_TAXONOMY.read_text(encoding="utf-8"))
        loaded = taxonomy_services.load_taxonomy(definitions, actor="demo workspace")
        report.skills_created = len(loaded.created)
        say(f"taxonomy: {len(loaded.created)} skills created, {len(loaded.unchanged)} unchanged")
        bank = load_scenarios(parse_scenarios(DEMO_SCENARIOS.read_text(encoding="utf-8")))
        report.scenarios_created = len(bank.created)
        say(
            f"scenario bank: {len(bank.created)} scenarios created, "
            f"{len(bank.updated)} updated, {len(bank.unchanged)} unchanged"
        )
        for name, description, boundaries in DEMO_AGENTS:
            if Agent.objects.filter(name=name).exists():
                report.existing_agents.append(name)
                continue
            agent = agent_services.create_agent(
                name=name, description=description, boundaries=boundaries, actor="demo workspace"
            )
            issued = agent_services.issue_key(agent, label="demo", actor="demo workspace")
            report.new_keys[name] = issued.secret
        for name, role, password, staff in DEMO_USERS:
            report.users.append((name, role, password, _ensure_user(name, role, password, staff)))
    if history is not None:
        report.history = _simulate_history(history, say)
    report.practice_queued = _queue_practice(say)
    return report


def _simulate_history(history, say):
    """Simulated weeks of work for the demo, unless a simulation ran here before."""
    if simulated_history_exists():
        say("history: simulated history exists; it is reused, not simulated again")
        return None
    approving = auto_approval_enabled()
    say(
        f"history: simulating {history.days} days of {history.simulated_agents} simulated agents "
        f"and the {len(DEMO_AGENTS)} demo agents (seed {history.seed}, offline coach, "
        + (
            f"auto-approving about {history.auto_approve_share:.0%} of new strategies)"
            if approving
            else "auto-approval off: set ETUDE_SIMULATION_AUTO_APPROVE=1 to publish some)"
        )
    )

    def day_done(day):
        say(
            f"  day {day.number:>2}/{history.days} ({day.date:%Y-%m-%d}): "
            f"{day.attempts} attempts ({day.practice} practice), {day.successes} succeeded; "
            f"{day.proposed} strategies proposed, {day.approved} auto-approved"
            + (f", release {day.release}" if day.release else "")
        )

    simulated = run_simulation(
        SimulationConfig(
            days=history.days,
            agents=history.simulated_agents,
            seed=history.seed,
            auto_approve_share=history.auto_approve_share,
            live_tasks_per_day=history.live_tasks_per_day,
            aptitude=history.aptitude,
            drive_agents=tuple(name for name, _, _ in DEMO_AGENTS),
        ),
        progress=day_done,
    )
    say(
        f"history: {simulated.attempts} attempts, {simulated.proposed} strategies proposed, "
        f"{simulated.approved} auto-approved; simulated agents: "
        f"{', '.join(simulated.created_agents) or 'none'}"
    )
    return simulated


def _queue_practice(say):
    """Today's practice for each demo agent, from the scheduler (nothing more once queued)."""
    queued = {}
    now = timezone.now()
    for name, _, _ in DEMO_AGENTS:
        agent = Agent.objects.filter(name=name, active=True).first()
        if agent is None:
            continue
        (schedule,) = schedule_practice(agent, now=now)
        queued[name] = len(schedule.assignments)
        waiting = agent.assignments.filter(status=PracticeAssignment.Status.QUEUED).count()
        skills = ", ".join(dict.fromkeys(pick.skill.key for pick in schedule.picks))
        say(
            f"practice: {name} has {waiting} scenarios queued ({len(schedule.assignments)} new"
            + (f": {skills})" if skills else ")")
        )
    return queued


def _ensure_user(name, role, password, staff):
    users = get_user_model()
    user, created = users.objects.get_or_create(username=name)
    if created:
        user.set_password(password)
        user.is_staff = staff
        user.is_superuser = role == Role.ADMIN
        user.save()
    assign_role(user, role)
    return created
