"""Verifying the audit chain: every hash recomputed from the stored fields, every link checked,
in order or in ranges by several processes; and diagnosing what broke it (changed, removed,
inserted or reordered). Appending lives in oversight.services.audit.
"""

import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass

from django.db import connections
from django.db.models import Max

from oversight.models import AuditEvent
from oversight.services.audit import (
    CHANGED,
    GENESIS_HASH,
    INSERTED,
    REMOVED,
    REORDERED,
    ChainBreak,
    event_fields,
    fields_hash,
)
from oversight.services.audit_rows import (
    ROW_FIELDS,
    event_rows,
    parsed_row_hash,
    row_hash,
)

PROGRESS_EVERY = 100_000
# A chain longer than RANGE_EVENTS is checked in ranges of at most that many events, by one
# process per CPU (at most MAX_WORKERS).
RANGE_EVENTS = 100_000
MAX_WORKERS = 8


def verify_chain(*, progress=None, workers=None, range_events=None):
    """Recompute the chain in the database: (events read, None) or (events read, ChainBreak).

    Every event's hash is recomputed from its stored fields and every link checked. A long
    chain is checked in ranges by `workers` processes at once (default: one per CPU); from the
    first range that does not hold, or does not link to the one before, the chain is walked in
    order, so the break reported is the one a walk from event 1 finds. `progress(count)` is
    called every PROGRESS_EVERY events in a walk, and after each range when parallel.
    """
    newest = AuditEvent.objects.aggregate(newest=Max("sequence"))["newest"] or 0
    workers = _parallel_workers(workers, newest)
    position, previous_hash = 0, GENESIS_HASH
    if workers > 1:
        if range_events is None:
            # Equal ranges, as many for each worker: they all finish at about the same time.
            ranges = math.ceil(newest / RANGE_EVENTS / workers) * workers
            range_events = math.ceil(newest / ranges)
        position, previous_hash = _verify_ranges(newest, workers, range_events, progress)
    return _walk_database(position, previous_hash, progress)


def verify_events(events, *, partial=False, progress=None, find_sequence=None):
    """Verify exported events (dicts with ROW_FIELDS, parsed JSON), without a database.

    With `partial`, the events are a filtered selection: every event's hash is checked, and the
    link to the previous event only where the two are consecutive.
    """
    if partial:
        return _verify_selection(events, progress=progress)
    rows = (tuple(event[name] for name in ROW_FIELDS) for event in events)
    position, previous_hash, previous_row = 0, GENESIS_HASH, None
    while True:
        position, previous_hash, previous_row, suspect = _follow(
            rows, position, previous_hash, previous_row, parsed_row_hash, progress
        )
        if suspect is None:
            return position, None
        position += 1
        broken = diagnose(
            _row_fields(suspect),
            _row_fields(previous_row) if previous_row is not None else None,
            position,
            find_sequence or (lambda digest: None),
        )
        if broken is not None:
            return position, broken
        previous_hash, previous_row = suspect[11], suspect


def _follow(rows, position, previous_hash, previous_row, hash_of, progress):
    """Walk `rows` while each is the next event of the chain.

    Gives (position, previous_hash, previous_row, suspect): where the walk got to and the
    first row that is not the next event (None when all were).
    """
    for row in rows:
        if row[0] != position + 1 or row[10] != previous_hash or hash_of(row) != row[11]:
            return position, previous_hash, previous_row, row
        position += 1
        previous_hash, previous_row = row[11], row
        if progress is not None and position % PROGRESS_EVERY == 0:
            progress(position)
    return position, previous_hash, previous_row, None


def _walk_database(position, previous_hash, progress):
    """Walk the chain in order after `position` events that hold, up to its first break."""
    while True:
        # Events that hold carry their position as sequence: read on after the last one.
        rows = event_rows(AuditEvent.objects.filter(sequence__gt=position))
        with closing(rows):  # the connection serves no other query while rows stream
            position, previous_hash, _, suspect = _follow(
                rows, position, previous_hash, None, row_hash, progress
            )
        if suspect is None:
            return position, None
        event = _exact_fields_from_database(suspect[0])
        previous = _exact_fields_from_database(position) if position else None
        position += 1
        broken = diagnose(event, previous, position, _sequence_of_hash)
        if broken is not None:
            return position, broken
        previous_hash = suspect[11]


def _parallel_workers(requested, newest):
    """How many processes may check ranges at once here; 1 means walk in order."""
    database = connections[AuditEvent.objects.db]
    if (
        not newest
        # Other connections would not see the events of a transaction still open here.
        or database.in_atomic_block
        or (database.vendor == "sqlite" and database.is_in_memory_db())
        or database.settings_dict["OPTIONS"].get("pool")  # a pool is not to be shared by forks
        or "fork" not in multiprocessing.get_all_start_methods()
        or multiprocessing.current_process().daemon  # e.g. a Celery worker: no children
    ):
        return 1
    if requested is not None:
        return max(1, requested)
    if newest <= RANGE_EVENTS:
        return 1
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cpus or 1, MAX_WORKERS, math.ceil(newest / RANGE_EVENTS)))


@dataclass(frozen=True)
class CheckedRange:
    """What a worker found in the events after `after` (a range of sequences)."""

    after: int
    count: int
    holds: bool  # sequences after+1, after+2, ... each hash matching, each linked to the last
    first_previous_hash: str | None
    last_hash: str | None


def _verify_ranges(newest, workers, range_events, progress):
    """Check the chain in ranges, in parallel: the position and hash after the ranges that
    hold and link to each other from event 1 on."""
    alias = AuditEvent.objects.db
    starts = range(0, newest, range_events)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = [
            # The last range is open-ended: it takes in events appended meanwhile.
            pool.submit(_check_range, alias, start, start + range_events, start == starts[-1])
            for start in starts
        ]
        checked = 0
        try:
            for future in as_completed(futures):
                checked += future.result().count
                if progress is not None:
                    progress(checked)
        except BaseException:  # a worker failed, or Ctrl-C: check no further range
            pool.shutdown(cancel_futures=True)
            raise
        ranges = [future.result() for future in futures]
    position, previous_hash = 0, GENESIS_HASH
    for checked_range in ranges:
        if checked_range.count == 0:
            continue
        if not (
            checked_range.holds
            and checked_range.after == position
            and checked_range.first_previous_hash == previous_hash
        ):
            break
        position += checked_range.count
        previous_hash = checked_range.last_hash
    return position, previous_hash


def _check_range(alias, after, until, open_ended):
    """In a worker process: check the events with sequences after `after` up to `until`."""
    database = connections.create_connection(alias)  # its own; the parent's is not to be used
    try:
        events = AuditEvent.objects.using(alias).filter(sequence__gt=after)
        if not open_ended:
            events = events.filter(sequence__lte=until)
        rows = event_rows(events, database=database)
        with closing(rows):
            first = next(rows, None)
            if first is None:
                return CheckedRange(after, 0, True, None, None)
            holds = first[0] == after + 1 and row_hash(first) == first[11]
            position, last_hash = after + 1, first[11]
            if holds:
                position, last_hash, _, suspect = _follow(
                    rows, position, last_hash, first, row_hash, None
                )
                holds = suspect is None
        return CheckedRange(after, position - after, holds, first[10], last_hash)
    finally:
        database.close()


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


def _exact_fields_from_database(sequence):
    event = AuditEvent.objects.get(sequence=sequence)
    return {**event_fields(event), "hash": event.hash}


def _row_fields(row):
    return dict(zip(ROW_FIELDS, row, strict=True))


def _sequence_of_hash(digest):
    return AuditEvent.objects.filter(hash=digest).values_list("sequence", flat=True).first()
