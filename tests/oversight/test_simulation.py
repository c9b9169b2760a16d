"""The simulation: simulated agents with hidden skill levels driven through the real services,
reproducible from its seed, learning from practice, feeding the reflection pipeline, and
labeled as a simulation wherever it writes."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction

from oversight.demo import DEMO_SCENARIOS, DEMO_TAXONOMY
from oversight.models import AuditEvent
from oversight.simulation import (
    AUTO_APPROVER,
    EXTERNAL_ID_PREFIX,
    Simulation,
    SimulationConfig,
    SimulationError,
    model,
    run_simulation,
)
from oversight.simulation.policies import baseline_bank
from oversight.simulation.runner import background_hooks_detached
from oversight.simulation.traces import Task, attempt_payload
from practice.coach.offline import TraceDiffCoach
from practice.coach.quality import quality_problems
from practice.models import (
    Agent,
    Attempt,
    CompetencySnapshot,
    MemoryRelease,
    PracticeAssignment,
    PracticeScenario,
    Reflection,
    Strategy,
)
from practice.scenario_file import parse_scenarios
from practice.scheduler.planning import MASTERY_MARGIN
from practice.services import attempts as attempt_services
from practice.services.attempts import record_attempts
from practice.services.reflection import attempt_view
from practice.services.scenarios import load_scenarios
from taxonomy import services as taxonomy_services
from taxonomy.models import Skill
from taxonomy.taxonomy_file import parse_taxonomy
from tests.factories import AgentFactory, SkillFactory

pytestmark = pytest.mark.django_db

START = datetime(2025, 3, 3, tzinfo=UTC)
SMALL = SimulationConfig(days=3, agents=2, seed=11, live_tasks_per_day=2, start=START)


@pytest.fixture
def workspace():
    taxonomy_services.load_taxonomy(
        parse_taxonomy(DEMO_TAXONOMY.read_text(encoding="utf-8")), actor="test"
    )
    load_scenarios(parse_scenarios(DEMO_SCENARIOS.read_text(encoding="utf-8")))


class _Discard(Exception):
    """Raised to roll a run back, so the next one starts from the same database."""


def _outcomes_of_a_fresh_run(config):
    try:
        with transaction.atomic():
            outcomes = run_simulation(config).outcomes
            raise _Discard
    except _Discard:
        pass
    assert not Agent.objects.filter(simulated=True).exists()
    return outcomes


# --- reproducibility ------------------------------------------------------------------------


def test_the_same_seed_gives_the_same_outcomes_and_another_seed_other_ones(workspace, settings):
    settings.ETUDE_SIMULATION_AUTO_APPROVE = True
    first = _outcomes_of_a_fresh_run(SMALL)
    second = _outcomes_of_a_fresh_run(SMALL)
    other = _outcomes_of_a_fresh_run(replace(SMALL, seed=12))

    assert len(first) == 2 * 3 * (5 + 2)  # agents x days x (practice budget + live tasks)
    assert first == second
    assert {outcome.success for outcome in first} == {True, False}
    assert {outcome.source for outcome in first} == {"live", "practice"}
    assert other != first


# --- the hidden model -----------------------------------------------------------------------


def test_practice_at_the_right_difficulty_teaches_most_and_live_work_less():
    skill = model.HiddenSkill(level=0.5, start=0.5)
    fitting = 0.5 + (skill.level - model.logit(model.FIT_PEAK)) / model.DIFFICULTY_SCALE
    at_peak = model.learning_gain(skill, fitting, practice=True)

    assert model.success_probability(skill.level, fitting) == pytest.approx(model.FIT_PEAK)
    assert at_peak > model.learning_gain(skill, 1.0, practice=True) > 0
    assert at_peak > model.learning_gain(skill, 0.0, practice=True) > 0
    assert model.learning_gain(skill, fitting, practice=False) < at_peak
    assert model.learning_gain(skill, fitting, practice=True, strategies=2) > at_peak


def test_unpracticed_skills_lose_only_what_practice_added():
    learned = model.HiddenSkill(level=2.0, start=0.5)

    after_a_month = model.forgotten(learned, 30)
    after_a_year = model.forgotten(learned, 365)

    assert 0.5 < after_a_year.level < after_a_month.level < 2.0
    assert model.forgotten(model.HiddenSkill(level=0.5, start=0.5), 365).level == 0.5


def test_approved_strategies_lift_the_chance_of_success():
    without = model.success_probability(1.0, 0.5)

    assert model.success_probability(1.0, 0.5, model.strategy_bonus(1)) > without
    assert model.strategy_bonus(3) > model.strategy_bonus(1) > model.strategy_bonus(0) == 0


def test_hidden_levels_rise_with_practice(workspace):
    simulation = Simulation(
        SimulationConfig(days=2, agents=1, seed=5, live_tasks_per_day=1, start=START)
    )
    with background_hooks_detached():
        simulation.set_up()
        (state,) = simulation.states
        before = {key: skill.level for key, skill in state.hidden.items()}
        for number in range(2):
            simulation.run_day(number)

    practiced = list(state.practiced)
    assert practiced
    assert all(state.hidden[key].level > before[key] for key in practiced)
    attempted = {outcome.skill for outcome in simulation.report.outcomes}
    untouched = [key for key in state.hidden if key not in attempted]
    assert untouched
    assert all(state.hidden[key].level == before[key] for key in untouched)
    assert state.practice_attempts == 2 * 5


# --- through the real pipeline ----------------------------------------------------------------


def test_failures_reach_the_coach_as_specific_strategies():
    task = Task(
        skill_key="tools.orders.wrong_order_id",
        difficulty=0.5,
        prompt="My order is #W3955298, sorry, typo, it's #W3955289. Where is it?",
        expected_actions=({"name": "get_order_details", "arguments": {"order_id": "#W3955289"}},),
    )
    SkillFactory(key=task.skill_key)
    agent = AgentFactory(name="coach-check", boundaries=["tools"])
    found = []
    for seed in range(6):
        payload = attempt_payload(
            task, success=False, rng=random.Random(seed), external_id=f"coach-check-{seed}"
        )
        (attempt,) = record_attempts(agent, [payload]).created
        found.append(TraceDiffCoach().reflect(attempt_view(attempt)))

    assert all(result.fault_type != "none" for result in found)
    assert any(result.fault_type == "wrong_argument" for result in found)
    for result in found:
        for strategy in result.strategies:
            assert quality_problems(strategy) == []


def test_a_run_files_proposed_strategies_through_reflection(workspace, settings):
    settings.ETUDE_SIMULATION_AUTO_APPROVE = False
    report = run_simulation(SimulationConfig(days=3, agents=2, seed=3, start=START))

    attempts = Attempt.objects.filter(agent__name__in=report.agents)
    assert attempts.count() == report.attempts
    assert Reflection.objects.filter(attempt__in=attempts, coach_name="trace-diff").count() == (
        report.attempts
    )
    proposed = Strategy.objects.filter(status=Strategy.Status.PROPOSED)
    assert proposed.exists()
    assert report.proposed == proposed.count()
    for strategy in proposed:
        assert set(strategy.evidence_links.values_list("attempt__agent__simulated", flat=True)) == {
            True
        }
    assert not Strategy.objects.filter(status=Strategy.Status.LIVE).exists()
    assert not MemoryRelease.objects.exists()
    # Competency followed every attempt, at its simulated time.
    assert all(START <= attempt.created_at < START + timedelta(days=3) for attempt in attempts)
    snapshots = CompetencySnapshot.objects.filter(attempt__in=attempts).select_related("attempt")
    assert {snapshot.attempt_id for snapshot in snapshots} == set(
        attempts.values_list("pk", flat=True)
    )
    assert all(snapshot.recorded_at == snapshot.attempt.created_at for snapshot in snapshots)
    completed = PracticeAssignment.objects.filter(attempt__in=attempts)
    assert completed.count() == sum(outcome.source == "practice" for outcome in report.outcomes)
    assert all(
        assignment.completed_at == assignment.attempt.created_at
        for assignment in completed.select_related("attempt")
    )


def test_auto_approval_publishes_releases_and_leaves_sensitive_skills_to_reviewers(
    workspace, settings
):
    settings.ETUDE_SIMULATION_AUTO_APPROVE = True
    report = run_simulation(
        SimulationConfig(days=3, agents=2, seed=3, auto_approve_share=1.0, start=START)
    )

    live = Strategy.objects.filter(status=Strategy.Status.LIVE)
    assert report.approved == live.count() > 0
    assert not live.filter(skill__sensitive=True).exists()
    assert (
        Strategy.objects.filter(status=Strategy.Status.PROPOSED, skill__sensitive=True).exists()
        or not Strategy.objects.filter(skill__sensitive=True).exists()
    )
    releases = MemoryRelease.objects.order_by("number")
    assert releases.count() == sum(1 for day in report.days if day.release)
    assert all(release.note.startswith("simulation day") for release in releases)
    assert set(releases.last().strategy_versions.values_list("strategy_id", flat=True)) == set(
        live.values_list("pk", flat=True)
    )
    approvals = AuditEvent.objects.filter(action="strategy.live")
    assert approvals.count() == live.count()
    assert set(approvals.values_list("actor_label", flat=True)) == {AUTO_APPROVER}
    # Later attempts pulled the approved strategies and reported using them.
    assert any(outcome.strategies for outcome in report.outcomes)


def test_without_the_setting_nothing_is_approved(workspace, settings):
    settings.ETUDE_SIMULATION_AUTO_APPROVE = False
    report = run_simulation(
        SimulationConfig(days=2, agents=1, seed=3, auto_approve_share=1.0, start=START)
    )

    assert report.approved == 0
    assert not MemoryRelease.objects.exists()


def test_everything_simulated_is_labeled(workspace, settings):
    settings.ETUDE_SIMULATION_AUTO_APPROVE = True
    report = run_simulation(SimulationConfig(days=2, agents=3, seed=4, start=START))

    agents = Agent.objects.filter(name__in=report.created_agents)
    assert agents.count() == 3
    assert {agent.simulated for agent in agents} == {True}
    assert all(agent.name.startswith("sim-") for agent in agents)
    assert all("(simulation)" in agent.description for agent in agents)
    assert all("(simulation)" in str(agent) for agent in agents)
    assert Attempt.objects.count() == report.attempts > 0
    assert not Attempt.objects.exclude(external_id__startswith=EXTERNAL_ID_PREFIX).exists()
    created = AuditEvent.objects.filter(action="agent.created")
    assert set(created.values_list("actor_label", flat=True)) == {"simulation"}
    assert all("simulation" in release.note for release in MemoryRelease.objects.all())


def test_the_simulation_puts_the_background_hooks_back(workspace):
    hooks = list(attempt_services.after_commit_hooks)

    run_simulation(SimulationConfig(days=1, agents=1, seed=1, start=START))

    assert attempt_services.after_commit_hooks == hooks


def test_days_in_the_future_and_unknown_policies_are_refused(workspace):
    with pytest.raises(SimulationError, match="future"):
        Simulation(SimulationConfig(days=3, start=datetime.now(UTC) + timedelta(days=2)))
    with pytest.raises(SimulationError, match="policy"):
        Simulation(SimulationConfig(policy="best-guess"))


@pytest.mark.parametrize("policy", ["random", "round-robin"])
def test_baseline_policies_spend_the_same_practice_budget(workspace, policy):
    report = run_simulation(
        SimulationConfig(days=2, agents=1, seed=2, policy=policy, live_tasks_per_day=1, start=START)
    )

    practice = [outcome for outcome in report.outcomes if outcome.source == "practice"]
    assert len(practice) == 2 * 5
    assert not PracticeAssignment.objects.exists()


def test_the_command_reports_each_day_and_a_summary(workspace):
    out = StringIO()

    call_command("simulate", "--days", "2", "--agents", "1", "--seed", "9", stdout=out)

    text = out.getvalue()
    assert "Auto-approval is off" in text
    assert "day   1/2" in text and "day   2/2" in text
    assert "Simulated 2 days (seed 9, policy etude)" in text
    assert Agent.objects.filter(simulated=True).count() == 1


def test_baselines_leave_out_the_replays_of_their_own_practice(workspace):
    run_simulation(
        SimulationConfig(
            days=4, agents=1, seed=3, policy="random", live_tasks_per_day=3, start=START
        )
    )
    agent = Agent.objects.get(simulated=True)
    replays = PracticeScenario.objects.filter(origin=PracticeScenario.Origin.REPLAY)
    of_practice = set(replays.filter(source_attempt__source=Attempt.Source.PRACTICE))
    of_live = set(replays.filter(source_attempt__source=Attempt.Source.LIVE))

    bank = {scenario for scenarios in baseline_bank(agent).values() for scenario in scenarios}

    assert of_practice and of_live, "the run failed both kinds of task"
    assert not bank & of_practice
    assert of_live <= bank
    assert all(
        scenario.origin == PracticeScenario.Origin.OPERATOR or scenario in of_live
        for scenario in bank
    )


def test_the_oracle_practices_only_skills_truly_below_mastery(workspace):
    report = run_simulation(
        SimulationConfig(
            days=3, agents=1, seed=5, policy="oracle", live_tasks_per_day=1, start=START
        )
    )
    thresholds = dict(Skill.objects.values_list("key", "mastery_threshold"))

    practice = [outcome for outcome in report.outcomes if outcome.source == "practice"]

    assert 0 < len(practice) <= 3 * 5
    assert all(
        outcome.level < model.mastery_level(thresholds[outcome.skill]) + MASTERY_MARGIN
        for outcome in practice
    )
    # The farthest below comes first on the first day.
    first_day = [outcome for outcome in practice if outcome.day == 1]
    gaps = [model.mastery_level(thresholds[o.skill]) - o.level for o in first_day]
    assert gaps[0] == max(gaps)


def test_the_oracle_practices_up_to_its_own_margin_when_given_one(workspace):
    # A margin far below every level: no skill needs practice, where the default margin has some.
    config = {"days": 2, "agents": 1, "seed": 5, "policy": "oracle", "start": START}
    report = run_simulation(SimulationConfig(**config, live_tasks_per_day=1, oracle_margin=-10.0))

    assert [outcome for outcome in report.outcomes if outcome.source == "practice"] == []
    assert [outcome for outcome in report.outcomes if outcome.source == "live"]
