"""The fast paths of the audit log compute exactly what the slow, obvious ones do: hashes
recomputed from rows (orjson) and the CSV written without csv.writer."""

import csv
import io
import json

import pytest
from django.utils import timezone

from oversight.models import AuditEvent
from oversight.services.audit import GENESIS_HASH, append_event, event_hash
from oversight.services.audit_export import csv_chunks
from oversight.services.audit_rows import (
    ROW_FIELDS,
    ROWS_PER_FETCH,
    event_rows,
    exact_row_hash,
    row_hash,
)
from oversight.services.audit_verify import verify_chain
from tests.oversight.test_audit_chain import update

pytestmark = pytest.mark.django_db

# Every character JSON escapes (but NUL, which PostgreSQL refuses in text), and characters it
# keeps that other encoders escape.
AWKWARD_TEXT = "".join(chr(code) for code in range(1, 0x20)) + '"\\/ \x7f é — 注文 \u2028 \u2029 😀'
FLOAT_FREE = {
    AWKWARD_TEXT: [AWKWARD_TEXT, {"z": 1, "a": {"é": 2, "e": 3, "😀": 4, "\uffff": 5}}],
    "integers": [0, -1, 2**53 + 1, 2**63 - 1, -(2**63)],
    "flags": [True, False, None],
    "empty": [{}, [], ""],
}


def stored_row(**fields):
    event = append_event(actor=None, action="skill.created", object_type="skill", **fields)
    [row] = event_rows(AuditEvent.objects.filter(pk=event.pk))
    return event, row


def test_the_fast_hash_is_the_exact_hash_for_text_integers_and_nesting():
    event, row = stored_row(object_id=AWKWARD_TEXT, before=FLOAT_FREE, after=[FLOAT_FREE])

    assert row_hash(row) == exact_row_hash(row) == event.hash == event_hash(event)


@pytest.mark.parametrize(
    "after",
    [{"small": 1e-07}, {"large": 1e16}, {"fraction": 0.1}, {"negative zero": -0.0}],
    ids=["1e-07", "1e16", "0.1", "-0.0"],
)
def test_floats_hash_as_pythons_json_writes_them(after):
    event, row = stored_row(object_id="float", after=after)

    assert row_hash(row) == exact_row_hash(row) == event.hash
    assert verify_chain() == (1, None)


def test_a_long_integer_written_over_a_float_it_rounds_to_is_reported():
    # orjson reads 123456789012345678901234567890 as the float 1.2345678901234568e+29, whose
    # canonical spelling is the original's: only the "e+" check sends it to Python's json.
    append_event(actor=None, action="skill.created", object_type="skill", object_id="a")
    append_event(
        actor=None,
        action="skill.created",
        object_type="skill",
        object_id="b",
        after={"count": 1.2345678901234568e29},
    )
    update(2, after={"count": 123456789012345678901234567890})

    count, broken = verify_chain()

    assert (count, broken.sequence, broken.kind) == (2, 2, "changed")


def test_a_changed_row_never_hashes_as_stored():
    event, row = stored_row(object_id="x", after=FLOAT_FREE)
    changed = (*row[:9], "a reason added later", *row[10:])

    assert row_hash(changed) != event.hash


# --- CSV ---------------------------------------------------------------------------------------------


def exported_csv(events):
    return b"".join(csv_chunks(events)).decode("utf-8")


def test_csv_rows_are_what_csv_writer_writes():
    append_event(
        actor=None,
        action="strategy.edited",
        object_type="strategy",
        object_id='7,"seven"',
        before=FLOAT_FREE,
        after={"quote": '"', "comma": ",", "newline": "\n"},
        reason='multi\nline, with "quotes"',
    )
    text = exported_csv(AuditEvent.objects.all())

    header, row = list(csv.reader(io.StringIO(text, newline="")))
    written = io.StringIO()
    csv.writer(written, lineterminator="\n").writerows([header, row])
    assert text == written.getvalue()


def test_csv_fields_read_back_as_stored_even_with_a_lone_carriage_return():
    append_event(
        actor=None,
        action="skill.created",
        object_type="skill",
        object_id="cr",
        after={"text": "a\rb"},
        reason="first line\rsecond line",
    )
    event = AuditEvent.objects.get()

    [exported] = list(csv.DictReader(io.StringIO(exported_csv(AuditEvent.objects.all()))))

    assert list(exported) == list(ROW_FIELDS)
    assert exported["reason"] == event.reason
    assert json.loads(exported["after"]) == event.after
    assert exported["before"] == "null"
    assert exported["created_at"] == event.created_at.isoformat()
    assert (exported["sequence"], exported["hash"]) == ("1", event.hash)


# --- Reading rows ------------------------------------------------------------------------------------


def test_a_read_stopped_early_inside_a_transaction_leaves_it_usable():
    # More rows than one fetch and far more bytes than socket buffers hold: the database is
    # still sending when reading stops, and on PostgreSQL the rest of the query is cancelled.
    events = 4 * ROWS_PER_FETCH
    previous_hash, created_at = GENESIS_HASH, timezone.now()
    chain = []
    for sequence in range(1, events + 1):
        event = AuditEvent(
            sequence=sequence,
            created_at=created_at,
            actor_type="system",
            actor_label="system",
            action="skill.created",
            object_type="skill",
            object_id=str(sequence),
            after={"notes": f"{sequence} " + "many words " * 1000},
            previous_hash=previous_hash,
        )
        event.hash = previous_hash = event_hash(event)
        chain.append(event)
    AuditEvent.objects.bulk_create(chain)
    update(2, reason="approved by nobody")

    count, broken = verify_chain()  # the test's transaction is open: one walk, in order

    assert (count, broken.sequence, broken.kind) == (2, 2, "changed")
    assert AuditEvent.objects.count() == events
