"""Agents, their boundaries and their API keys."""

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from practice import caches
from practice.models import Agent, AgentBoundary, AgentKey
from practice.services.errors import PracticeError
from taxonomy.models import Skill
from taxonomy.signals import record_change

PREFIX_BYTES = 6
SECRET_BYTES = 32


def agent_snapshot(agent):
    return {
        "name": agent.name,
        "description": agent.description,
        "active": agent.active,
        "simulated": agent.simulated,
        "boundaries": sorted(agent.boundaries.values_list("key", flat=True)),
    }


def create_agent(*, name, description="", boundaries=(), simulated=False, actor=None):
    """Create an agent authorized for the subtrees rooted at the given skill keys."""
    if Agent.objects.filter(name=name).exists():
        raise PracticeError(f"An agent named {name} already exists.")
    with transaction.atomic():
        agent = Agent.objects.create(name=name, description=description, simulated=simulated)
        _link_boundaries(agent, _skills_for_keys(boundaries))
        record_change(
            actor=actor,
            action="agent.created",
            object_type="agent",
            object_id=agent.name,
            after=agent_snapshot(agent),
        )
    return agent


def set_boundaries(agent, skill_keys, *, actor=None, reason=""):
    """Replace the agent's authorized subtrees with those rooted at `skill_keys`."""
    skills = _skills_for_keys(skill_keys)
    with transaction.atomic():
        before = agent_snapshot(agent)
        AgentBoundary.objects.filter(agent=agent).exclude(skill__in=skills).delete()
        _link_boundaries(agent, skills)
        after = agent_snapshot(agent)
        if before != after:
            record_change(
                actor=actor,
                action="agent.boundaries_changed",
                object_type="agent",
                object_id=agent.name,
                before=before,
                after=after,
                reason=reason,
            )
    return agent


def boundary_keys(agent):
    """The keys of the subtrees an agent may work in (a per-process copy: practice.caches)."""
    return caches.boundaries.get(agent.pk, lambda: _read_boundary_keys(agent.pk))


def _read_boundary_keys(agent_id):
    # Plain SQL: every web process reads this for every agent every few seconds, and the
    # ORM's query building costs more than the query.
    boundary = connection.ops.quote_name(AgentBoundary._meta.db_table)
    skill = connection.ops.quote_name(Skill._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.key FROM {boundary} b JOIN {skill} s ON s.id = b.skill_id "
            "WHERE b.agent_id = %s",
            [agent_id],
        )
        return tuple(row[0] for row in cursor.fetchall())


def is_within_boundaries(agent, skill):
    """True when `skill` lies in one of the agent's authorized subtrees."""
    return any(skill.is_within(key) for key in agent.boundaries.values_list("key", flat=True))


def _skills_for_keys(keys):
    keys = list(dict.fromkeys(keys))
    skills = list(Skill.objects.filter(key__in=keys))
    missing = sorted(set(keys) - {skill.key for skill in skills})
    if missing:
        raise PracticeError(f"Unknown skill: {', '.join(missing)}.")
    return skills


def _link_boundaries(agent, skills):
    for skill in skills:
        AgentBoundary.objects.get_or_create(agent=agent, skill=skill)


# --- API keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedKey:
    """A new key: `secret` is the full key text, shown once and never stored."""

    key: AgentKey
    secret: str


def hash_key(secret):
    # API keys carry 256 random bits, so one fast SHA-256 is enough (no password stretching).
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_key(agent, *, label="", expires_at=None, actor=None):
    """Create an API key for the agent; the returned secret is the only copy."""
    if expires_at is not None and expires_at <= timezone.now():
        raise PracticeError("The expiry of a new key must lie in the future.")
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = f"{settings.ETUDE_API_KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
    with transaction.atomic():
        key = AgentKey.objects.create(
            agent=agent,
            label=label,
            prefix=prefix,
            hashed_key=hash_key(secret),
            expires_at=expires_at,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        record_change(
            actor=actor,
            action="agent_key.created",
            object_type="agent_key",
            object_id=prefix,
            after={
                "agent": agent.name,
                "prefix": prefix,
                "label": label,
                "expires_at": expires_at.isoformat() if expires_at else None,
            },
        )
    return IssuedKey(key=key, secret=secret)


def revoke_key(key, *, actor=None, reason=""):
    """Revoke a key at once; revoking twice is refused so the audit log stays truthful."""
    if key.revoked_at is not None:
        raise PracticeError(f"Key {key.prefix} was already revoked on {key.revoked_at:%Y-%m-%d}.")
    with transaction.atomic():
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        record_change(
            actor=actor,
            action="agent_key.revoked",
            object_type="agent_key",
            object_id=key.prefix,
            before={"agent": key.agent.name, "prefix": key.prefix, "revoked": False},
            after={"agent": key.agent.name, "prefix": key.prefix, "revoked": True},
            reason=reason,
        )
    return key


def split_key(secret):
    """The prefix part of a key text, or None when the text has not the shape of a key."""
    parts = secret.split("_", 2)
    if len(parts) != 3 or parts[0] != settings.ETUDE_API_KEY_PREFIX:
        return None
    if len(parts[1]) != PREFIX_BYTES * 2:
        return None
    return parts[1]


def _read_key(prefix):
    # Raw queries: every web process reads every active key every few seconds, and building the
    # ORM's select_related query costs more than running two plain ones.
    key_table = connection.ops.quote_name(AgentKey._meta.db_table)
    agent_table = connection.ops.quote_name(Agent._meta.db_table)
    key = next(
        iter(AgentKey.objects.raw(f"SELECT * FROM {key_table} WHERE prefix = %s", [prefix])), None
    )
    if key is not None:
        key.agent = next(
            iter(Agent.objects.raw(f"SELECT * FROM {agent_table} WHERE id = %s", [key.agent_id]))
        )
    return key


class KeyRefused(PracticeError):
    """The key is unknown, revoked or expired; the message says which."""


def authenticate_key(secret):
    """The usable AgentKey for this key text, or KeyRefused saying why not. The key row is
    read through practice.caches: treat the returned instance as read-only."""
    prefix = split_key(secret)
    if prefix is None:
        raise KeyRefused("The API key is malformed.")
    key = caches.keys.get(prefix, lambda: _read_key(prefix))
    if key is None or not hmac.compare_digest(key.hashed_key, hash_key(secret)):
        raise KeyRefused("The API key is not valid.")
    if key.revoked_at is not None:
        raise KeyRefused("The API key has been revoked.")
    if key.expires_at is not None and key.expires_at <= timezone.now():
        raise KeyRefused("The API key has expired.")
    if not key.agent.active:
        raise KeyRefused(f"The agent {key.agent.name} is deactivated.")
    return key
