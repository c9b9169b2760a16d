from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from oversight.models import AuditEvent
from practice.models import AgentKey
from practice.services import PracticeError
from practice.services.agents import KeyRefused, authenticate_key, hash_key, issue_key, revoke_key
from tests.factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_issued_key_is_stored_hashed_and_authenticates():
    agent = AgentFactory()
    issued = issue_key(agent, label="prod")
    stored = AgentKey.objects.get()
    assert issued.secret not in stored.hashed_key
    assert stored.hashed_key == hash_key(issued.secret)
    assert issued.secret.startswith(f"etude_{stored.prefix}_")
    assert authenticate_key(issued.secret).agent == agent


@pytest.mark.parametrize("text", ["", "nonsense", "etude_zz_abc", "Bearer etude_"])
def test_malformed_key_is_refused(text):
    with pytest.raises(KeyRefused, match="malformed"):
        authenticate_key(text)


def test_wrong_secret_with_right_prefix_is_refused():
    issued = issue_key(AgentFactory())
    with pytest.raises(KeyRefused, match="not valid"):
        authenticate_key(issued.secret[:-2] + "xx")


def test_revoked_and_expired_keys_are_refused():
    agent = AgentFactory()
    revoked = issue_key(agent)
    revoke_key(revoked.key, reason="leaked")
    with pytest.raises(KeyRefused, match="revoked"):
        authenticate_key(revoked.secret)
    with pytest.raises(PracticeError, match="already revoked"):
        revoke_key(revoked.key)

    expiring = issue_key(agent, expires_at=timezone.now() + timedelta(days=1))
    AgentKey.objects.filter(pk=expiring.key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    with pytest.raises(KeyRefused, match="expired"):
        authenticate_key(expiring.secret)


def test_deactivated_agent_is_refused():
    agent = AgentFactory()
    issued = issue_key(agent)
    agent.active = False
    agent.save()
    with pytest.raises(KeyRefused, match="deactivated"):
        authenticate_key(issued.secret)


def test_key_changes_are_audited_without_the_key():
    issued = issue_key(AgentFactory(name="bot"))
    revoke_key(issued.key, reason="rotation")
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [event.action for event in events][-2:] == ["agent_key.created", "agent_key.revoked"]
    assert all(issued.secret not in str(event.after) for event in events)
    assert events[-1].reason == "rotation"


def test_command_creates_lists_and_revokes(capsys):
    AgentFactory(name="bot")
    call_command("agent_key", "create", "bot", "--label", "ci", "--expires-days", "30")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    key = authenticate_key(secret)
    call_command("agent_key", "list", "bot")
    assert key.prefix in capsys.readouterr().out
    call_command("agent_key", "revoke", key.prefix, "--reason", "done")
    with pytest.raises(KeyRefused):
        authenticate_key(secret)
    with pytest.raises(CommandError, match="already revoked"):
        call_command("agent_key", "revoke", key.prefix)
    with pytest.raises(CommandError, match="No agent"):
        call_command("agent_key", "create", "ghost")
