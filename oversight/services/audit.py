"""The append-only, hash-chained audit log: appending events (verifying the chain:
oversight.services.audit_verify).

An event's hash is SHA-256 over its canonical JSON: the fields in CANONICAL_FIELDS, keys
sorted, separators "," and ":", non-ASCII kept as UTF-8; `created_at` in ISO 8601. The first
event's previous_hash is GENESIS_HASH. Exports (oversight.services.audit_export) carry the
same fields, so a third party can recompute every hash without the server.
"""

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.utils import timezone

from oversight.models import AuditEvent
from oversight.services.audit_rows import (
    CANONICAL_FIELDS,
    canonical_json,
)
from practice.models import Agent

GENESIS_HASH = "0" * 64
# Any fixed number; PostgreSQL serializes audit appends on this advisory lock.
AUDIT_LOCK_ID = 7_311_942

# Kinds of tampering verification tells apart.
CHANGED = "changed"
REMOVED = "removed"
INSERTED = "inserted"
REORDERED = "reordered"


@dataclass(frozen=True)
class ChainBreak:
    """The first place the chain does not hold: which event, what kind of tampering, and why."""

    sequence: int
    kind: str
    why: str

    def __str__(self):
        return f"event {self.sequence} ({self.kind}): {self.why}"


# --- Canonical form ---------------------------------------------------------------------------------


def canonical_event(fields):
    """The exact bytes an event's hash covers: sorted keys, no spaces, UTF-8."""
    return canonical_json(fields).encode()


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


def fields_hash(fields):
    """The hash of a dict holding (at least) the canonical fields, e.g. one exported line."""
    return hashlib.sha256(
        canonical_event({name: fields[name] for name in CANONICAL_FIELDS})
    ).hexdigest()


# --- Appending --------------------------------------------------------------------------------------


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
            before=_as_stored(before),
            after=_as_stored(after),
            reason=reason or "",
            previous_hash=last.hash if last else GENESIS_HASH,
            **_actor_fields(actor),
        )
        event.hash = event_hash(event)
        event.save()
    return event


def _as_stored(value):
    """`value` as the database will give it back, so the hash covers what is read later.

    PostgreSQL's jsonb rewrites some numbers (1e16 becomes 10000000000000000), and every
    backend turns tuples into lists and non-string keys into strings.
    """
    if value is None:
        return None
    text = json.dumps(value)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT %s::jsonb::text", [text])
            text = cursor.fetchone()[0]
    return json.loads(text)


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


def chain_head():
    """The newest event's sequence and hash (None when the log is empty): an anchor to keep."""
    return AuditEvent.objects.order_by("-sequence").values_list("sequence", "hash").first()


# --- The database's guard ---------------------------------------------------------------------------


@contextmanager
def append_only_guard_lifted(using=DEFAULT_DB_ALIAS):
    """Let audit events be deleted or changed inside this block's transaction, then guard again.

    Only for Django's flush (which must empty every table) and for tests that tamper on purpose.
    The triggers come from migration oversight 0003; a rollback restores them too.
    """
    database = connections[using]
    table = database.ops.quote_name(AuditEvent._meta.db_table)
    with transaction.atomic(using=using), database.cursor() as cursor:
        triggers = []
        if database.vendor == "postgresql":
            # ALTER TABLE waits for no deferred foreign-key check: run the pending ones now.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        elif database.vendor == "sqlite":
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
                [AuditEvent._meta.db_table],
            )
            triggers = cursor.fetchall()
            for name, _ in triggers:
                cursor.execute(f"DROP TRIGGER {database.ops.quote_name(name)}")
        yield
        if database.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        for _, sql in triggers:
            cursor.execute(sql)
