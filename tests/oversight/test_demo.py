import pytest
from django.core.management import CommandError, call_command

from practice.models import Agent, AgentKey
from practice.services.agents import authenticate_key
from taxonomy.models import Skill

pytestmark = pytest.mark.django_db


def test_demo_workspace_loads_once_and_reuses(settings, capsys):
    settings.DEBUG = True
    call_command("load_demo")
    first = capsys.readouterr().out
    assert Agent.objects.count() == 3
    assert Skill.objects.filter(depth=0).count() == 7
    keys = [line.split()[-1] for line in first.splitlines() if "etude_" in line]
    assert len(keys) == 3
    assert {authenticate_key(key).agent.name for key in keys} == {
        "support-bot",
        "returns-bot",
        "triage-bot",
    }
    assert "reviewer" in first and "etude-reviewer-demo" in first

    call_command("load_demo")
    second = capsys.readouterr().out
    assert "etude_" not in second  # keys are shown once only
    assert "already present" in second
    assert Agent.objects.count() == 3
    assert AgentKey.objects.count() == 3


def test_demo_refused_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("load_demo")
