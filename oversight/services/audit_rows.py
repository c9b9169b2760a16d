"""Audit events as rows read straight from the database, and their hashes recomputed fast.

Verification and exports never build model instances: one query in chain order, streamed (on
PostgreSQL in binary, a batch of rows at a time), gives ROW_FIELDS tuples. In a row, created_at
is a naive UTC datetime (iso_8601() writes it as the canonical form does), and before/after are
the database's own JSON text (bytes on PostgreSQL, str on SQLite) or None.

row_hash() recomputes an event's hash from such a row: SHA-256 over exactly the bytes of
oversight.services.audit.canonical_event(), the canonical form documented there.
"""

import hashlib
import json

import orjson
from django.db import connections
from django.db.models import BinaryField, F, Func

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
# One event as a tuple: the canonical fields and the hash.
ROW_FIELDS = CANONICAL_FIELDS + ("hash",)
ROWS_PER_FETCH = 250  # rows per result batch: small batches stay in the CPU cache


# --- The canonical form, fast and exactly --------------------------------------------------------------


def _canonical_json_encoder():
    """json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False): the
    reference serializer of the canonical form, as a function calling json's C encoder
    directly (json.dumps sets one up per call)."""
    if json.encoder.c_make_encoder is None:
        return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode
    # The arguments JSONEncoder.iterencode passes; no circular-reference markers needed.
    encode = json.encoder.c_make_encoder(
        None,
        json.JSONEncoder().default,
        json.encoder.encode_basestring,  # ensure_ascii=False: UTF-8 text stays as it is
        None,
        ":",
        ",",
        True,
        False,
        True,
    )
    return lambda value: "".join(encode(value, 0))


canonical_json = _canonical_json_encoder()


def row_hash(row):
    """The hash of a ROW_FIELDS row, recomputed from its fields (its stored hash is not used).

    orjson is several times faster than Python's json, and does what json does here, with two
    exceptions: it reads integers beyond 64 bits as floats, and it spells some floats
    differently (1e-7 where json writes 1e-07). A float spelled differently can only make the
    hash differ, never match (json never writes that spelling), and a long integer read as a
    float is written with an exponent ("e+"). So a row whose hash differs, or whose bytes hold
    "e+", is hashed again with Python's json (exact_row_hash), which decides.
    """
    before, after = row[7], row[8]
    try:
        canonical = _dumps(
            {  # in canonical order already: the sort then has nothing to move
                "action": row[4],
                "actor_label": row[3],
                "actor_type": row[2],
                "after": None if after is None else _loads(after),
                "before": None if before is None else _loads(before),
                "created_at": row[1].isoformat() + "+00:00",  # iso_8601()
                "object_id": row[6],
                "object_type": row[5],
                "previous_hash": row[10],
                "reason": row[9],
                "sequence": row[0],
            },
            option=orjson.OPT_SORT_KEYS,
        )
    except orjson.JSONDecodeError:  # e.g. NaN, which SQLite may hold and json reads
        return exact_row_hash(row)
    digest = _sha256(canonical).hexdigest()
    if digest != row[11]:
        return exact_row_hash(row)
    # "e+" in canonical, found faster: "+" is rare (created_at has one) and found with memchr.
    plus = canonical.find(b"+")
    while plus != -1:
        if canonical[plus - 1] == 0x65:  # "e"
            return exact_row_hash(row)
        plus = canonical.find(b"+", plus + 1)
    return digest


_dumps, _loads, _sha256 = orjson.dumps, orjson.loads, hashlib.sha256


def exact_row_hash(row):
    """row_hash() with Python's json only: slower, and the definition the fast path follows."""
    before, after = row[7], row[8]
    fields = {
        **dict(zip(CANONICAL_FIELDS, row, strict=False)),
        "created_at": iso_8601(row[1]),
        "before": None if before is None else json.loads(before),
        "after": None if after is None else json.loads(after),
    }
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def parsed_row_hash(row):
    """The hash of a row whose before and after are parsed already (an export file's event).

    Python's json only: json.loads reads NaN, which orjson would write as null.
    """
    fields = dict(zip(CANONICAL_FIELDS, row, strict=False))
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()


def iso_8601(created_at):
    """A row's created_at (a naive UTC datetime) as datetime.isoformat() writes it in UTC."""
    return created_at.isoformat() + "+00:00"


def json_text(value):
    """A before/after column's JSON text as str (None stays None)."""
    return value.decode() if value.__class__ is bytes else value


# --- Reading rows ------------------------------------------------------------------------------------


class _PostgresJsonText(Func):
    """A jsonb column's text as bytes: orjson reads bytes, so nothing decodes it on the way
    (jsonb in binary would come with a format version byte in front)."""

    template = "textsend(%(expressions)s::text)"
    output_field = BinaryField()


def event_rows(queryset, *, database=None, rows_per_fetch=ROWS_PER_FETCH):
    """ROW_FIELDS tuples of `queryset` in chain order, streamed with constant memory.

    `database` is the connection to read with (default: the queryset's). While the rows are
    being read the connection runs no other query: close the generator first.
    """
    database = database or connections[queryset.db]
    postgresql = database.vendor == "postgresql"
    columns = list(ROW_FIELDS)
    if postgresql:
        columns[7:9] = _PostgresJsonText(F("before")), _PostgresJsonText(F("after"))
    query = queryset.order_by("sequence").values_list(*columns).query
    sql, params = query.get_compiler(connection=database).as_sql()
    if postgresql:
        return _postgresql_rows(database, sql, params, rows_per_fetch)
    return _cursor_rows(database, sql, params, rows_per_fetch)


def _postgresql_rows(database, sql, params, rows_per_fetch):
    import psycopg
    from psycopg.pq import TransactionStatus
    from psycopg.types.datetime import TimestampBinaryLoader

    database.ensure_connection()
    # Rows left unread when the generator is closed are cancelled, and a cancelled query
    # aborts the transaction around it: a savepoint keeps that transaction usable.
    savepoint = database.savepoint() if database.in_atomic_block else None
    try:
        with database.wrap_database_errors, psycopg.Cursor(database.connection) as cursor:
            # timestamptz travels as microseconds since 2000 in UTC: read as a naive UTC
            # datetime, like SQLite's, with no time zone work.
            cursor.adapters.register_loader("timestamptz", TimestampBinaryLoader)
            # stream(): the server sends all rows at once and keeps working while we hash; a
            # named cursor would wait for a round trip per batch.
            yield from cursor.stream(sql, params, binary=True, size=rows_per_fetch)
    finally:
        if savepoint is not None:
            if database.connection.info.transaction_status == TransactionStatus.INERROR:
                database.savepoint_rollback(savepoint)
            else:
                database.savepoint_commit(savepoint)


def _cursor_rows(database, sql, params, rows_per_fetch):
    # SQLite: created_at comes back as a naive UTC datetime (Django's converter for the
    # column's declared type), before/after as the text Django stored.
    with database.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(rows_per_fetch):
            yield from rows
