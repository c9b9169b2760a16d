"""Audit events as rows, read fast: the chain's canonical form without a dict per event.

Verification and exports read events as ROW_FIELDS tuples straight from the database, with
created_at already in ISO 8601 and before/after as JSON text, and build the exact bytes of
oversight.services.audit.canonical_event() from them.
"""

import json

from django.db.models import Func, TextField, Value
from django.db.models.functions import Cast, Coalesce

CANONICAL_FIELDS = (
    "sequence",
    "created_at",
    "actor_type",
    "actor_label",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "reason",
    "previous_hash",
)


# The same bytes as canonical_event(), built without a dict per event: the keys are fixed, so
# their sorted order is written out once. json's C encoder and scanner are made once and
# called directly, skipping the per-call setup of json.dumps and json.loads.
_encode_text = json.encoder.encode_basestring  # the C string encoder behind ensure_ascii=False
_scan_json = json.scanner.make_scanner(json.JSONDecoder())


def _canonical_json_encoder():
    """json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False), as a
    function that calls json's C encoder directly when there is one."""
    if json.encoder.c_make_encoder is None:
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    # The arguments JSONEncoder.iterencode passes; no circular-reference markers needed.
    encode = json.encoder.c_make_encoder(
        None, json.JSONEncoder().default, _encode_text, None, ":", ",", True, False, True
    )
    return lambda value: "".join(encode(value, 0))


encode_json = _canonical_json_encoder()

_CANONICAL_TEMPLATE = (
    '{"action":%s,"actor_label":%s,"actor_type":%s,"after":%s,"before":%s,"created_at":%s,'
    '"object_id":%s,"object_type":%s,"previous_hash":%s,"reason":%s,"sequence":%d}'
)


def canonical_row(row, before, after):
    """canonical_event() of a ROW_FIELDS tuple, given its before and after as canonical JSON."""
    return (
        _CANONICAL_TEMPLATE
        % (
            _encode_text(row[4]),
            _encode_text(row[3]),
            _encode_text(row[2]),
            after,
            before,
            _encode_text(row[1]),
            _encode_text(row[6]),
            _encode_text(row[5]),
            _encode_text(row[10]),
            _encode_text(row[9]),
            row[0],
        )
    ).encode()


class IsoTimestamp(Func):
    """A timestamp as Python's datetime.isoformat() writes it in UTC, computed by the database."""

    output_field = TextField()

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"IsoTimestamp has no SQL for {connection.vendor}.")

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores aware datetimes as naive UTC text: "YYYY-MM-DD HH:MM:SS[.ffffff]".
        template = "REPLACE(%(expressions)s, ' ', 'T') || '+00:00'"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
            "CASE WHEN TO_CHAR(%(expressions)s, 'US') = '000000' THEN '' "
            "ELSE TO_CHAR(%(expressions)s AT TIME ZONE 'UTC', '.US') END || '+00:00'"
        )
        return super().as_sql(compiler, connection, template=template, **extra)


# One event as a tuple: the canonical fields and the hash, created_at and before/after as text.
ROW_FIELDS = CANONICAL_FIELDS + ("hash",)


def event_rows(queryset, *, chunk_size=5000, null_json=None):
    """ROW_FIELDS tuples of `queryset` in chain order, streamed (a server-side cursor on PostgreSQL).

    before/after come as JSON text; an empty one as `null_json` (None, or "null" for exports).
    """
    before, after = Cast("before", TextField()), Cast("after", TextField())
    if null_json is not None:
        before = Coalesce(before, Value(null_json), output_field=TextField())
        after = Coalesce(after, Value(null_json), output_field=TextField())
    return (
        queryset.order_by("sequence")
        .values_list(
            "sequence",
            IsoTimestamp("created_at"),
            "actor_type",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            before,
            after,
            "reason",
            "previous_hash",
            "hash",
        )
        .iterator(chunk_size=chunk_size)
    )


def canonical_json_text(text):
    """The canonical form of JSON text from the database."""
    if text is None:
        return "null"
    try:
        value, end = _scan_json(text, 0)
    except StopIteration:
        end = -1
    if end != len(text):
        value = json.loads(text)  # whitespace around it, or not JSON at all: let json say so
    return encode_json(value)
