"""Exports of the audit log as CSV or JSON Lines, and reading them back for offline checks.

Every exported event carries the fields its hash covers plus the hash itself (ROW_FIELDS), so
the file alone is enough to recompute the chain. Rows stream from a server-side cursor in
chain order and are written in chunks: memory stays flat however many events are exported.
"""

import csv
import json
import re
from itertools import islice

from oversight.services.audit_rows import ROW_FIELDS, event_rows

CHUNK_EVENTS = 2000
CONTENT_TYPES = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}

_text = json.encoder.encode_basestring  # ensure_ascii=False: UTF-8 text stays as it is
# before/after go out as the database's own JSON text: valid JSON, never parsed on the way.
_LINE = (
    '{"sequence":%d,"created_at":%s,"actor_type":%s,"actor_label":%s,"action":%s,'
    '"object_type":%s,"object_id":%s,"before":%s,"after":%s,"reason":%s,'
    '"previous_hash":%s,"hash":%s}\n'
)
_HASH = re.compile(r"[0-9a-f]{64}")
_STRING_FIELDS = ("created_at", "actor_type", "actor_label", "action", "object_type", "object_id")


class ExportFormatError(ValueError):
    """An export file that is not what Etude writes; says where and why."""


def jsonl_chunks(queryset, *, chunk_events=CHUNK_EVENTS):
    """The events of `queryset` as JSON Lines, one string per chunk of events."""
    rows = event_rows(queryset, chunk_size=chunk_events, null_json="null")
    while chunk := list(islice(rows, chunk_events)):
        lines = "".join(
            [
                _LINE
                % (
                    row[0],
                    _text(row[1]),
                    _text(row[2]),
                    _text(row[3]),
                    _text(row[4]),
                    _text(row[5]),
                    _text(row[6]),
                    row[7],
                    row[8],
                    _text(row[9]),
                    _text(row[10]),
                    _text(row[11]),
                )
                for row in chunk
            ]
        )
        # JSON allows U+2028 and U+2029 raw (only inside strings), but many line readers split
        # on them: written escaped, every event stays on its own line for any reader.
        yield lines.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


class _Lines(list):
    """What csv.writer writes into: a list of strings, joined per chunk."""

    write = list.append


def csv_chunks(queryset, *, chunk_events=CHUNK_EVENTS):
    """The events of `queryset` as CSV with a header row, one string per chunk of events."""
    lines = _Lines()
    writer = csv.writer(lines, lineterminator="\n")
    writer.writerow(ROW_FIELDS)
    rows = event_rows(queryset, chunk_size=chunk_events, null_json="null")
    while chunk := list(islice(rows, chunk_events)):
        writer.writerows(chunk)
        yield "".join(lines)
        lines.clear()
    if lines:  # the header of an empty export
        yield "".join(lines)


def export_chunks(queryset, export_format):
    return {"jsonl": jsonl_chunks, "csv": csv_chunks}[export_format](queryset)


# --- Reading an export back ------------------------------------------------------------------------


def read_events(path):
    """The events of an export file as dicts of ROW_FIELDS, in file order (streamed)."""
    if str(path).endswith(".csv"):
        return _read_csv(path)
    return _read_jsonl(path)


def find_in_file(path):
    """A function giving the sequence of the event with a given hash in the file, or None."""

    def find_sequence(digest):
        for event in read_events(path):
            if event["hash"] == digest:
                return event["sequence"]
        return None

    return find_sequence


def _read_jsonl(path):
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as error:
                raise ExportFormatError(f"line {number}: not JSON ({error.msg}).") from None
            yield _checked(event, f"line {number}")


def _read_csv(path):
    with open(path, encoding="utf-8", newline="") as lines:
        reader = csv.DictReader(lines)
        missing = [name for name in ROW_FIELDS if name not in (reader.fieldnames or [])]
        if missing:
            raise ExportFormatError(f"header: the columns {', '.join(missing)} are missing.")
        for row in reader:
            where = f"line {reader.line_num}"
            try:
                sequence = int(row["sequence"])
                before, after = json.loads(row["before"]), json.loads(row["after"])
            except (TypeError, ValueError) as error:
                raise ExportFormatError(f"{where}: {error}.") from None
            yield _checked({**row, "sequence": sequence, "before": before, "after": after}, where)


def _checked(event, where):
    if not isinstance(event, dict):
        raise ExportFormatError(f"{where}: an event is a JSON object.")
    missing = [name for name in ROW_FIELDS if name not in event]
    if missing:
        raise ExportFormatError(f"{where}: the fields {', '.join(missing)} are missing.")
    sequence = event["sequence"]
    if not isinstance(sequence, int) or isinstance(sequence, bool) or sequence < 1:
        raise ExportFormatError(f"{where}: sequence must be a whole number from 1.")
    for name in _STRING_FIELDS + ("reason",):
        if not isinstance(event[name], str):
            raise ExportFormatError(f"{where}: {name} must be text.")
    for name in ("previous_hash", "hash"):
        if not isinstance(event[name], str) or not _HASH.fullmatch(event[name]):
            raise ExportFormatError(f"{where}: {name} must be 64 lowercase hex digits.")
    return event
