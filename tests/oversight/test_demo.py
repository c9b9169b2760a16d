from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from oversight.demo import DEMO_AGENTS, DemoHistory, load_demo_workspace
from oversight.selectors import open_proposals, queue_stats, queued_strategies
from oversight.simulation import EXTERNAL_ID_PREFIX
from practice.models import (
    Agent,
    AgentKey,
    Attempt,
    CompetencySnapshot,
    MemoryRelease,
    PracticeAssignment,
    PracticeScenario,
    Strategy,
)
from practice.services.agents import authenticate_key
from practice.services.competency import decayed
from taxonomy.models import Skill, TaxonomyProposal

pytestmark = pytest.mark.django_db

# Small enough for a test, busy enough to fill the review queue.
TEST_HISTORY = DemoHistory(
    days=10, simulated_agents=2, live_tasks_per_day=6, auto_approve_share=0.3
)


def test_demo_workspace_loads_once_and_reuses(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo", "--history-days", "0")
    first = capsys.readouterr().out
    assert Agent.objects.count() == 3
    assert Skill.objects.filter(depth=0).count() == 7
    assert PracticeScenario.objects.count() > 100
    keys = [line.split()[-1] for line in first.splitlines() if "etude_" in line]
    assert len(keys) == 3
    assert {authenticate_key(key).agent.name for key in keys} == {
        "support-bot",
        "returns-bot",
        "triage-bot",
    }
    assert "reviewer" in first and "etude-reviewer-demo" in first

    call_command("load_demo", "--history-days", "0")
    second = capsys.readouterr().out
    assert "etude_" not in second  # keys are shown once only
    assert "already present" in second
    assert Agent.objects.count() == 3
    assert AgentKey.objects.count() == 3


def test_demo_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")


def _contents():
    return {
        model.__name__: model.objects.count()
        for model in (
            Agent,
            Attempt,
            CompetencySnapshot,
            Strategy,
            TaxonomyProposal,
            MemoryRelease,
            PracticeAssignment,
            PracticeScenario,
        )
    }


def test_first_load_simulates_history_and_fills_the_queue_and_a_second_adds_nothing(
    settings, capsys
):
    settings.DEBUG = True
    settings.ETUDE_SIMULATION_AUTO_APPROVE = True
    lines = []
    report = load_demo_workspace(progress=lines.append, history=TEST_HISTORY)

    assert any(line.strip().startswith("day 10/10") for line in lines)
    assert report.history.attempts == Attempt.objects.count()
    simulated = Agent.objects.filter(simulated=True)
    assert simulated.count() == 2
    assert Attempt.objects.filter(agent__name="support-bot").exists()
    assert not Attempt.objects.exclude(external_id__startswith=EXTERNAL_ID_PREFIX).exists()
    stats = queue_stats()
    assert stats["size"] >= 50
    assert queued_strategies().count() >= 2 and open_proposals().count() >= 2
    assert stats["oldest"] < timezone.now() - timedelta(days=5)
    assert MemoryRelease.objects.exists()
    assert Strategy.objects.filter(status=Strategy.Status.LIVE).exists()

    now = timezone.now()
    for name, _, _ in DEMO_AGENTS:
        queue = PracticeAssignment.objects.filter(
            agent__name=name, status=PracticeAssignment.Status.QUEUED
        ).select_related("scenario__skill")
        assert queue.count() == settings.ETUDE_PRACTICE_BUDGET, name
        # The queue opens on the agent's weak skills: the first item it claims practices a skill
        # below its mastery threshold (weak, or learning when never tried). Due reviews, and skills just over the
        # threshold being consolidated, may follow (practice.scheduler.planning).
        first = queue.order_by("-priority", "scheduled_at", "pk").first()
        assert first.reason in (
            PracticeAssignment.Reason.WEAK,
            PracticeAssignment.Reason.LEARNING,
        ), name
        skill = first.scenario.skill
        competency = skill.competencies.filter(agent__name=name).first()
        if competency is not None:
            assert decayed(competency, now).estimate < skill.mastery_threshold, name

    before = _contents()
    call_command("load_demo")
    second = capsys.readouterr().out
    assert "simulated history exists" in second
    assert _contents() == before


def test_without_history_the_demo_agents_still_get_a_practice_queue():
    report = load_demo_workspace(history=None)

    assert report.history is None
    assert report.practice_queued == {name: 5 for name, _, _ in DEMO_AGENTS}
    assert not Attempt.objects.exists()
