"""The append-only, hash-chained audit log."""

import hashlib
import json

from django.db import connection, transaction
from django.utils import timezone

from oversight.models import AuditEvent
from practice.models import Agent

GENESIS_HASH = "0" * 64
# Any fixed number; PostgreSQL serializes audit appends on this advisory lock.
AUDIT_LOCK_ID = 7_311_942


def canonical_event(fields):
    """The exact bytes an event's hash covers: sorted keys, no spaces, UTF-8."""
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_fields(event):
    return {
        "sequence": event.sequence,
        "created_at": event.created_at.isoformat(),
        "actor_type": event.actor_type,
        "actor_label": event.actor_label,
        "action": event.action,
        "object_type": event.object_type,
        "object_id": event.object_id,
        "before": event.before,
        "after": event.after,
        "reason": event.reason,
        "previous_hash": event.previous_hash,
    }


def event_hash(event):
    return hashlib.sha256(canonical_event(event_fields(event))).hexdigest()


def append_event(*, actor, action, object_type, object_id, before=None, after=None, reason=""):
    """Append one event to the chain; call inside the transaction of the change it records."""
    with transaction.atomic():
        _lock_chain()
        last = AuditEvent.objects.order_by("-sequence").only("sequence", "hash").first()
        event = AuditEvent(
            sequence=(last.sequence + 1) if last else 1,
            created_at=timezone.now(),
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=before,
            after=after,
            reason=reason or "",
            previous_hash=last.hash if last else GENESIS_HASH,
            **_actor_fields(actor),
        )
        event.hash = event_hash(event)
        event.save()
    return event


def verify_chain():
    """Recompute the chain; returns (count, None) or (count, the first broken event and why)."""
    previous_hash = GENESIS_HASH
    expected_sequence = 1
    count = 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000):
        count += 1
        if event.sequence != expected_sequence:
            return count, (event, f"sequence {expected_sequence} is missing")
        if event.previous_hash != previous_hash:
            return count, (event, "its previous hash does not match the event before it")
        if event.hash != event_hash(event):
            return count, (event, "its content does not match its hash")
        previous_hash = event.hash
        expected_sequence += 1
    return count, None


def _lock_chain():
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_LOCK_ID])
    # SQLite: transactions begin IMMEDIATE (settings), so writers are already serialized.


def _actor_fields(actor):
    if isinstance(actor, Agent):
        return {"actor_type": "agent", "actor_agent": actor, "actor_label": f"agent:{actor.name}"}
    if getattr(actor, "is_authenticated", False):
        return {"actor_type": "user", "actor_user": actor, "actor_label": actor.get_username()}
    return {"actor_type": "system", "actor_label": str(actor) if actor else "system"}
