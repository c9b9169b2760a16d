"""Verification in ranges by several processes finds exactly what a walk from event 1 finds.

The worker processes read with their own connections, so these tests commit their events
(transaction=True): a test transaction left open would hide them.
"""

import pytest
from django.db import transaction

from oversight.models import AuditEvent
from oversight.services.audit import (
    ChainBreak,
    append_event,
    append_only_guard_lifted,
    event_hash,
)
from oversight.services.audit_verify import verify_chain
from tests.oversight.test_audit_chain import EVENTS, build_chain, forge, renumber, swap, update

pytestmark = pytest.mark.django_db(transaction=True)

# Ranges of 3 events: (0, 3], (3, 6], ... and the last one open-ended.
IN_RANGES = {"workers": 2, "range_events": 3}


def in_parallel_and_in_order():
    parallel, walked = verify_chain(**IN_RANGES), verify_chain(workers=1)
    assert parallel == walked
    return parallel


def delete(*sequences):
    with append_only_guard_lifted():
        AuditEvent.objects.filter(sequence__in=sequences).delete()


def rehash(sequence, **fields):
    tampered = AuditEvent.objects.get(sequence=sequence)
    for name, value in fields.items():
        setattr(tampered, name, value)
    update(sequence, **fields, hash=event_hash(tampered))


def test_an_untouched_chain_checks_out_in_ranges():
    build_chain(10)
    assert in_parallel_and_in_order() == (10, None)


@pytest.mark.parametrize(
    ("tamper", "count", "sequence", "kind"),
    [
        (lambda: update(5, reason="approved by nobody"), 5, 5, "changed"),
        (lambda: update(3, actor_label="mallory"), 3, 3, "changed"),  # the end of a range
        (lambda: update(4, object_id="elsewhere"), 4, 4, "changed"),  # the start of one
        (lambda: update(1, action="strategy.live"), 1, 1, "changed"),
        (lambda: update(8, after={"when": "whenever"}), 8, 8, "changed"),
        (lambda: delete(4), 4, 4, "removed"),
        (lambda: delete(3), 3, 3, "removed"),  # a range left short
        (lambda: delete(4, 5, 6), 4, 4, "removed"),  # a whole range gone
        (lambda: (delete(4), renumber(range(5, EVENTS + 1), -1)), 4, 4, "removed"),
        (lambda: (renumber(range(4, EVENTS + 1), +1), forge(4, follows=3)), 5, 4, "inserted"),
        (lambda: swap(5, 6), 5, 5, "reordered"),
        (lambda: swap(3, 4), 3, 3, "reordered"),  # across two ranges
        (lambda: rehash(6, reason="approved by nobody"), 7, 6, "changed"),
        (lambda: rehash(3, reason="approved by nobody"), 4, 3, "changed"),  # link across ranges
    ],
    ids=[
        "edited",
        "edited at a range end",
        "edited at a range start",
        "first event edited",
        "last event's JSON edited",
        "deleted",
        "deleted at a range end",
        "a range deleted",
        "deleted and renumbered",
        "inserted",
        "swapped",
        "swapped across ranges",
        "changed and rehashed",
        "rehashed at a range end",
    ],
)
def test_each_kind_of_tampering_is_found_where_the_walk_finds_it(tamper, count, sequence, kind):
    build_chain()
    tamper()

    checked, broken = in_parallel_and_in_order()

    assert (checked, broken.sequence, broken.kind) == (count, sequence, kind)
    assert isinstance(broken, ChainBreak)


def test_deleting_the_newest_events_leaves_a_shorter_chain_that_checks_out():
    build_chain()
    delete(7, 8)
    assert in_parallel_and_in_order() == (6, None)


def test_progress_is_reported_per_range():
    build_chain(10)
    reported = []

    verify_chain(progress=reported.append, **IN_RANGES)

    assert sorted(reported) == reported
    assert reported[-1] == 10
    assert len(reported) == 4  # ranges of 3, 3, 3 and 1


def test_inside_a_transaction_the_chain_is_walked_in_this_connection():
    build_chain(4)
    with transaction.atomic():
        # Not yet committed: only this connection sees event 5, so no worker may check it.
        append_event(actor=None, action="skill.created", object_type="skill", object_id="new")
        assert verify_chain(**IN_RANGES) == (5, None)
