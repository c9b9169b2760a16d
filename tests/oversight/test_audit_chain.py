"""The audit chain: the database refuses edits, verification names each kind of tampering,
concurrent writers keep one chain, and exports verify offline."""

import json
import subprocess
import sys
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction

from oversight.models import AuditEvent
from oversight.services.audit import (
    GENESIS_HASH,
    append_event,
    append_only_guard_lifted,
    event_fields,
    event_hash,
)
from oversight.services.audit_export import csv_chunks, jsonl_chunks, read_events
from oversight.services.audit_rows import (
    ROW_FIELDS,
    event_rows,
    exact_row_hash,
    iso_8601,
    row_hash,
)
from oversight.services.audit_verify import verify_chain, verify_events
from taxonomy.services import create_skill
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db

EVENTS = 8
# Values that do not survive a naive JSON round trip on every backend.
AWKWARD = {
    "text": 'Größe — 注文 \u2028 "quoted" \\ tab\t',
    "numbers": [0.1, 1e-07, 1e16, -0.0, 12345678901234567890, 2.5],
    "flags": [True, False, None],
    "nested": {"b": [1, {"z": 1, "a": 2}], "a": {}},
    (1, 2)[0]: "an int key becomes text",
}


def build_chain(count=EVENTS):
    """`count` events from a person, an agent and the system, with before and after."""
    user, agent = UserFactory(username="alice"), AgentFactory(name="support-bot")
    actors = [user, agent, None]
    for number in range(1, count + 1):
        append_event(
            actor=actors[number % 3],
            action="strategy.edited",
            object_type="strategy",
            object_id=number,
            before={"when": f"when the order number {number} is missing", "revision": number},
            after={"when": f"when order {number} is missing", "revision": number + 1},
            reason=f"reason {number}",
        )


def update(sequence, **fields):
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence=sequence).update(**fields)


def forge(sequence, *, follows, **fields):
    """A well-formed event written as `sequence`, chained to event `follows`'s hash."""
    predecessor = AuditEvent.objects.get(sequence=follows)
    forged = AuditEvent(
        **{
            "sequence": sequence,
            "created_at": predecessor.created_at,
            "actor_type": "user",
            "actor_label": "mallory",
            "action": "strategy.live",
            "object_type": "strategy",
            "object_id": "99",
            "after": {"status": "live"},
            "reason": "approved",
            "previous_hash": predecessor.hash,
            **fields,
        }
    )
    forged.hash = event_hash(forged)
    forged.save()


def swap(first, second):
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence=first).update(sequence=10_000)
        AuditEvent.objects.filter(sequence=second).update(sequence=first)
        AuditEvent.objects.filter(sequence=10_000).update(sequence=second)


def renumber(sequences, shift):
    """Move each of `sequences` by `shift`, in an order the unique constraint accepts."""
    with append_only_guard_lifted():
        for sequence in sorted(sequences, reverse=shift > 0):
            AuditEvent.objects.filter(sequence=sequence).update(sequence=sequence + shift)


# --- The database's guard ---------------------------------------------------------------------------


def refused_statements():
    table = AuditEvent._meta.db_table
    statements = [
        f"UPDATE {table} SET reason = 'rewritten' WHERE sequence = 2",
        f"DELETE FROM {table} WHERE sequence = 2",
        f"DELETE FROM {table}",
    ]
    if connection.vendor == "postgresql":
        # Deferred foreign-key checks pending in the test's transaction would block TRUNCATE
        # for another reason: run them first.
        statements.append(f"SET CONSTRAINTS ALL IMMEDIATE; TRUNCATE {table}")
    return statements


def test_the_database_refuses_to_change_or_delete_events_through_raw_sql():
    build_chain(3)
    for statement in refused_statements():
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(statement)

    assert list(AuditEvent.objects.values_list("sequence", "reason")) == [
        (1, "reason 1"),
        (2, "reason 2"),
        (3, "reason 3"),
    ]
    assert verify_chain() == (3, None)


def test_the_guard_comes_back_after_it_was_lifted():
    build_chain(2)
    update(2, reason="rewritten")

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(sequence=1).update(reason="again")
    assert AuditEvent.objects.get(sequence=1).reason == "reason 1"


def test_appending_still_works_with_the_guard():
    build_chain(2)
    event = append_event(actor=None, action="skill.created", object_type="skill", object_id="x")
    assert (event.sequence, event.previous_hash) == (3, AuditEvent.objects.get(sequence=2).hash)


def test_flush_empties_the_audit_log_and_restores_the_guard():
    build_chain(3)

    call_command("flush", interactive=False, verbosity=0)

    assert not AuditEvent.objects.exists()
    event = append_event(actor=None, action="skill.created", object_type="skill", object_id="x")
    assert event.sequence == 1
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


# --- Verification names the tampering -----------------------------------------------------------------


def test_an_untouched_chain_checks_out():
    create_skill(key="support", name="Support")
    build_chain()
    assert verify_chain() == (EVENTS + 1, None)


def test_an_edited_field_is_reported_as_changed():
    build_chain()
    update(5, reason="approved by nobody")

    count, broken = verify_chain()

    assert count == 5
    assert (broken.sequence, broken.kind) == (5, "changed")
    assert "content does not match its hash" in broken.why


def test_an_edited_json_value_is_reported_as_changed():
    build_chain()
    tampered = AuditEvent.objects.get(sequence=3).after | {"when": "whenever"}
    update(3, after=tampered)

    assert verify_chain()[1].sequence == 3
    assert verify_chain()[1].kind == "changed"


def test_a_deleted_event_is_reported_as_removed():
    build_chain()
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence=4).delete()

    count, broken = verify_chain()

    assert (broken.sequence, broken.kind) == (4, "removed")
    assert "event 4 is missing" in broken.why
    assert count == 4


def test_a_deleted_event_with_the_later_ones_renumbered_is_reported_as_removed():
    build_chain()
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence=4).delete()
    renumber(range(5, EVENTS + 1), -1)

    _, broken = verify_chain()

    assert (broken.sequence, broken.kind) == (4, "removed")
    assert "written as 5" in broken.why


def test_an_inserted_event_is_reported_as_inserted():
    build_chain()
    renumber(range(4, EVENTS + 1), +1)
    # A well-formed event of its own: only its place in the chain gives it away.
    forge(4, follows=3)

    count, broken = verify_chain()

    assert (broken.sequence, broken.kind) == (4, "inserted")
    assert count == 5


def test_an_inserted_event_with_the_rest_rehashed_is_reported_as_inserted():
    build_chain(3)
    forge(4, follows=2, actor_type="system", actor_label="system", after=None)

    # Event 4 holds on its own, yet names event 2 as its predecessor: event 3 is in between.
    _, broken = verify_chain()

    assert broken.kind == "inserted"
    assert broken.sequence == 3


def test_two_swapped_events_are_reported_as_reordered():
    build_chain()
    swap(5, 6)

    count, broken = verify_chain()

    assert (broken.sequence, broken.kind) == (5, "reordered")
    assert "event now at sequence 6" in broken.why
    assert count == 5


def test_a_changed_event_with_its_hash_recomputed_breaks_the_next_link():
    build_chain()
    tampered = AuditEvent.objects.get(sequence=6)
    tampered.reason = "approved by nobody"
    update(6, reason=tampered.reason, hash=event_hash(tampered))

    _, broken = verify_chain()

    assert (broken.sequence, broken.kind) == (6, "changed")
    assert "hash recomputed" in broken.why


def test_verify_audit_command_reports_success_and_tampering(capsys):
    build_chain()
    call_command("verify_audit")
    output = capsys.readouterr().out
    assert f"All {EVENTS} events check out." in output
    assert AuditEvent.objects.get(sequence=EVENTS).hash in output

    update(2, action="strategy.live")
    with pytest.raises(CommandError, match="Event 2 was changed") as raised:
        call_command("verify_audit")
    assert raised.value.returncode == 1


# --- The fast path computes exactly the canonical form --------------------------------------------------


def test_hashes_cover_what_is_stored_even_for_awkward_values():
    append_event(
        actor=None,
        action="agent.boundaries_changed",
        object_type="agent",
        object_id="bot",
        before=AWKWARD,
        after=[AWKWARD, "list"],
        reason="multi\nline — ünïcode",
    )
    event = AuditEvent.objects.get()

    assert event.hash == event_hash(event)
    [row] = event_rows(AuditEvent.objects.all())
    assert iso_8601(row[1]) == event.created_at.isoformat()
    assert row_hash(row) == exact_row_hash(row) == event.hash
    assert verify_chain() == (1, None)


def test_timestamps_without_microseconds_keep_their_iso_form():
    build_chain(1)
    event = AuditEvent.objects.get()
    whole_second = event.created_at.replace(microsecond=0)
    forged = AuditEvent(
        **{
            **{name: getattr(event, name) for name in ("actor_type", "actor_label", "action")},
            "sequence": 2,
            "created_at": whole_second,
            "object_type": "skill",
            "object_id": "s",
            "previous_hash": event.hash,
        }
    )
    forged.hash = event_hash(forged)
    forged.save()

    rows = list(event_rows(AuditEvent.objects.all()))
    assert iso_8601(rows[1][1]) == whole_second.isoformat()
    assert verify_chain() == (2, None)


# --- Concurrent writers -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_leave_one_unbroken_chain():
    writers, per_writer = 4, 6
    failures = []
    start = threading.Barrier(writers)

    def write(number):
        try:
            start.wait()
            for index in range(per_writer):
                with transaction.atomic():
                    append_event(
                        actor=None,
                        action="skill.created",
                        object_type="skill",
                        object_id=f"writer{number}.skill{index}",
                        after={"writer": number, "index": index},
                    )
        except Exception as error:  # noqa: BLE001 (reported by the main thread)
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(number,)) for number in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert failures == []
    total = writers * per_writer
    chain = list(AuditEvent.objects.values_list("sequence", "previous_hash", "hash"))
    assert [sequence for sequence, _, _ in chain] == list(range(1, total + 1))
    assert [previous for _, previous, _ in chain] == [GENESIS_HASH] + [h for _, _, h in chain[:-1]]
    assert verify_chain() == (total, None)
    assert {f"writer{n}.skill{i}" for n in range(writers) for i in range(per_writer)} == set(
        AuditEvent.objects.values_list("object_id", flat=True)
    )


# --- Exports verify offline ----------------------------------------------------------------------------


def export_to(path, chunks):
    path.write_bytes(b"".join(chunks))
    return path


def test_jsonl_export_carries_every_field_and_verifies_offline(tmp_path, capsys):
    build_chain()
    append_event(
        actor=None, action="skill.created", object_type="skill", object_id="x", after=AWKWARD
    )
    path = export_to(tmp_path / "audit.jsonl", jsonl_chunks(AuditEvent.objects.all()))

    text = path.read_text(encoding="utf-8")
    assert "\u2028" not in text  # escaped: any line reader sees one event per line
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["sequence"] for line in lines] == list(range(1, EVENTS + 2))
    first = AuditEvent.objects.get(sequence=1)
    assert lines[0] == {**event_fields(first), "hash": first.hash}
    assert list(lines[0]) == list(ROW_FIELDS)
    assert lines[-1]["after"] == AuditEvent.objects.get(sequence=EVENTS + 1).after

    call_command("verify_audit", file=str(path))
    assert f"All {EVENTS + 1} events check out." in capsys.readouterr().out


def test_csv_export_verifies_offline(tmp_path, capsys):
    build_chain()
    path = export_to(tmp_path / "audit.csv", csv_chunks(AuditEvent.objects.all()))

    assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(ROW_FIELDS)
    assert verify_events(read_events(path)) == (EVENTS, None)
    call_command("verify_audit", file=str(path))
    assert f"All {EVENTS} events check out." in capsys.readouterr().out


def rewrite_lines(path, change):
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(change(lines)), encoding="utf-8")


def test_a_tampered_line_of_an_export_is_detected_offline(tmp_path):
    build_chain()
    path = export_to(tmp_path / "audit.jsonl", jsonl_chunks(AuditEvent.objects.all()))

    def edit_third(lines):
        event = json.loads(lines[2])
        event["actor_label"] = "mallory"
        lines[2] = json.dumps(event, ensure_ascii=False) + "\n"
        return lines

    rewrite_lines(path, edit_third)

    with pytest.raises(CommandError, match="Event 3 was changed") as raised:
        call_command("verify_audit", file=str(path))
    assert raised.value.returncode == 1


@pytest.mark.parametrize(
    ("change", "kind", "sequence"),
    [
        (lambda lines: lines[:3] + lines[4:], "removed", 4),
        (lambda lines: lines[:3] + [lines[4], lines[3]] + lines[5:], "reordered", 4),
    ],
    ids=["line removed", "lines swapped"],
)
def test_removed_and_reordered_lines_are_detected_offline(tmp_path, change, kind, sequence):
    build_chain()
    path = export_to(tmp_path / "audit.jsonl", jsonl_chunks(AuditEvent.objects.all()))
    rewrite_lines(path, change)

    with pytest.raises(CommandError, match=f"Event {sequence} was {kind}"):
        call_command("verify_audit", file=str(path))


def test_a_filtered_export_verifies_as_partial(tmp_path, capsys):
    build_chain()
    selected = AuditEvent.objects.filter(sequence__in=[2, 3, 6])
    path = export_to(tmp_path / "some.jsonl", jsonl_chunks(selected))

    call_command("verify_audit", file=str(path), partial=True)
    assert "All 3 selected events check out." in capsys.readouterr().out
    with pytest.raises(CommandError, match="Event 1 was removed"):
        call_command("verify_audit", file=str(path))

    rewrite_lines(path, lambda lines: [lines[0].replace("reason 2", "reason 7")] + lines[1:])
    with pytest.raises(CommandError, match="Event 2 was changed"):
        call_command("verify_audit", file=str(path), partial=True)


def test_a_malformed_export_is_refused_with_the_line(tmp_path):
    build_chain(2)
    path = export_to(tmp_path / "audit.jsonl", jsonl_chunks(AuditEvent.objects.all()))
    rewrite_lines(path, lambda lines: [lines[0], "{not json\n"])

    with pytest.raises(CommandError, match="line 2: not JSON") as raised:
        call_command("verify_audit", file=str(path))
    assert raised.value.returncode == 2


# The README's stand-alone verifier, verbatim: Python's json and hashlib, nothing of Etude.
OFFLINE_VERIFIER = """\
import hashlib, json, sys

previous, expected = "0" * 64, 1
with open(sys.argv[1], encoding="utf-8") as export:
    for line in export:
        event = json.loads(line)
        fields = {key: value for key, value in event.items() if key != "hash"}
        canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if hashlib.sha256(canonical.encode("utf-8")).hexdigest() != event["hash"]:
            sys.exit(f"event {event['sequence']}: content does not match its hash")
        if event["sequence"] != expected or event["previous_hash"] != previous:
            sys.exit(f"event {event['sequence']}: the chain is broken before it")
        previous, expected = event["hash"], expected + 1
print(f"All {expected - 1} events check out; newest hash {previous}")
"""


def test_the_documented_offline_procedure_verifies_an_export(tmp_path):
    build_chain()
    append_event(
        actor=None, action="skill.created", object_type="skill", object_id="x", after=AWKWARD
    )
    path = export_to(tmp_path / "audit.jsonl", jsonl_chunks(AuditEvent.objects.all()))
    script = tmp_path / "verify.py"
    script.write_text(OFFLINE_VERIFIER, encoding="utf-8")

    def run():
        return subprocess.run(
            [sys.executable, str(script), str(path)], capture_output=True, text=True, check=False
        )

    passed = run()
    newest = AuditEvent.objects.latest("sequence").hash
    assert (passed.returncode, passed.stdout.strip()) == (
        0,
        f"All {EVENTS + 1} events check out; newest hash {newest}",
    )

    rewrite_lines(path, lambda lines: lines[:2] + lines[3:])
    failed = run()
    assert failed.returncode == 1
    assert failed.stderr.strip() == "event 4: the chain is broken before it"
