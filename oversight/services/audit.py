"""The append-only, hash-chained audit log: appending events and verifying the chain.

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
    ROW_FIELDS,
    canonical_json_text,
    canonical_row,
    encode_json,
    event_rows,
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


# --- Verifying ------------------------------------------------------------------------------------------

PROGRESS_EVERY = 100_000


def verify_chain(*, progress=None):
    """Recompute the chain in the database: (events read, None) or (events read, ChainBreak).

    `progress(count)` is called every PROGRESS_EVERY events. Fast path: rows as text, one
    reusable encoder; any event that fails it is checked again from the model, exactly.
    """
    return _verify_rows(
        event_rows(AuditEvent.objects.all()),
        canonical_json=canonical_json_text,
        exact=_exact_fields_from_database,
        find_sequence=_sequence_of_hash,
        progress=progress,
    )


def verify_events(events, *, partial=False, progress=None, find_sequence=None):
    """Verify exported events (dicts with ROW_FIELDS, parsed JSON), without a database.

    With `partial`, the events are a filtered selection: every event's hash is checked, and the
    link to the previous event only where the two are consecutive.
    """
    if partial:
        return _verify_selection(events, progress=progress)
    rows = (tuple(event[name] for name in ROW_FIELDS) for event in events)
    return _verify_rows(
        rows,
        canonical_json=encode_json,
        exact=lambda row: dict(zip(ROW_FIELDS, row, strict=True)),
        find_sequence=find_sequence or (lambda digest: None),
        progress=progress,
    )


def _verify_rows(rows, *, canonical_json, exact, find_sequence, progress):
    """The chain walk shared by the database and the export file; stops at the first break."""
    sha256 = hashlib.sha256
    previous_hash = GENESIS_HASH
    previous_row = None
    position = 0
    for row in rows:
        position += 1
        if (
            row[0] != position
            or row[10] != previous_hash
            or sha256(
                canonical_row(row, canonical_json(row[7]), canonical_json(row[8]))
            ).hexdigest()
            != row[11]
        ):
            event = exact(row)
            previous = exact(previous_row) if previous_row is not None else None
            broken = diagnose(event, previous, position, find_sequence)
            if broken is not None:
                return position, broken
        previous_hash = row[11]
        previous_row = row
        if progress is not None and position % PROGRESS_EVERY == 0:
            progress(position)
    return position, None


def _verify_selection(events, *, progress):
    previous = None
    count = 0
    for event in events:
        count += 1
        sequence = event["sequence"]
        if previous is not None and sequence <= previous["sequence"]:
            return count, ChainBreak(
                sequence,
                REORDERED,
                f"it comes after event {previous['sequence']} in the file",
            )
        if fields_hash(event) != event["hash"]:
            return count, ChainBreak(sequence, CHANGED, "its content does not match its hash")
        if (
            previous is not None
            and sequence == previous["sequence"] + 1
            and event["previous_hash"] != previous["hash"]
        ):
            return count, ChainBreak(
                previous["sequence"],
                CHANGED,
                f"event {sequence} is chained to a different hash than this event's",
            )
        previous = event
        if progress is not None and count % PROGRESS_EVERY == 0:
            progress(count)
    return count, None


def diagnose(event, previous, position, find_sequence):
    """Why `event` (canonical fields and hash) breaks the chain after `previous`, or None.

    `position` is where the event sits in the chain (1 for the first); `find_sequence(hash)`
    gives the sequence of the event carrying that hash, or None when no event does.
    """
    sequence = event["sequence"]
    if sequence > position:
        predecessor = find_sequence(event["previous_hash"])
        if predecessor is not None and predecessor >= position:
            return ChainBreak(position, REORDERED, f"event {position} comes after event {sequence}")
        missing = str(position) if sequence == position + 1 else f"{position} to {sequence - 1}"
        return ChainBreak(
            position, REMOVED, f"event {missing} is missing: the log goes on with {sequence}"
        )
    if sequence < position:
        return ChainBreak(sequence, REORDERED, f"it sits at position {position} of the chain")
    content_holds = fields_hash(event) == event["hash"]
    linked = event["previous_hash"] == (previous["hash"] if previous else GENESIS_HASH)
    if content_holds and linked:
        return None
    predecessor = find_sequence(event["previous_hash"])
    if predecessor is not None and predecessor >= sequence:
        return ChainBreak(
            sequence,
            REORDERED,
            f"it was written right after the event now at sequence {predecessor}",
        )
    if content_holds:
        return _diagnose_link(event, previous, predecessor)
    if previous is not None and _hash_as(event, sequence - 1) == event["hash"]:
        return ChainBreak(
            previous["sequence"],
            INSERTED,
            f"the events after it were renumbered: event {sequence} was written as {sequence - 1}",
        )
    if _hash_as(event, sequence + 1) == event["hash"]:
        return ChainBreak(
            sequence,
            REMOVED,
            f"an event before it was removed and the later ones renumbered: "
            f"this event was written as {sequence + 1}",
        )
    return ChainBreak(sequence, CHANGED, "its content does not match its hash")


def _diagnose_link(event, previous, predecessor):
    """The event's own hash holds but it is chained to something other than the event before."""
    sequence = event["sequence"]
    if previous is None:
        return ChainBreak(
            sequence, CHANGED, "it starts the log but is chained to another event's hash"
        )
    if event["previous_hash"] == previous["previous_hash"]:
        return ChainBreak(
            previous["sequence"],
            INSERTED,
            f"event {sequence} is chained to the same predecessor as this event",
        )
    if predecessor is not None and predecessor < previous["sequence"]:
        return ChainBreak(
            predecessor + 1,
            INSERTED,
            f"event {sequence} was written right after event {predecessor}",
        )
    return ChainBreak(
        previous["sequence"],
        CHANGED,
        f"it was changed and its hash recomputed: event {sequence} is chained to another hash",
    )


def _hash_as(event, sequence):
    return fields_hash({**event, "sequence": sequence})


def _exact_fields_from_database(row):
    event = AuditEvent.objects.get(sequence=row[0])
    return {**event_fields(event), "hash": event.hash}


def _sequence_of_hash(digest):
    return AuditEvent.objects.filter(hash=digest).values_list("sequence", flat=True).first()


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
