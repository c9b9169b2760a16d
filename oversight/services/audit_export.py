"""Exports of the audit log as CSV or JSON Lines, and reading them back for offline checks.

Every exported event carries the fields its hash covers plus the hash itself (ROW_FIELDS), so
the file alone is enough to recompute the chain. Rows stream in chain order from one query
(oversight.services.audit_rows.event_rows) and go out in chunks of UTF-8 bytes: memory stays
flat however many events are exported.
"""

import csv
import json
import re
from contextlib import closing
from itertools import islice

import orjson

from oversight.services.audit_rows import ROW_FIELDS, event_rows, iso_8601, json_text

CHUNK_EVENTS = 2000
CONTENT_TYPES = {"jsonl": "application/jsonl; charset=utf-8", "csv": "text/csv; charset=utf-8"}

_HASH = re.compile(r"[0-9a-f]{64}")
_STRING_FIELDS = ("created_at", "actor_type", "actor_label", "action", "object_type", "object_id")


class ExportFormatError(ValueError):
    """An export file that is not what Etude writes; says where and why."""


def _chunks_of(queryset, chunk_events):
    """Lists of at most `chunk_events` rows of `queryset`, in chain order."""
    rows = event_rows(queryset)
    with closing(rows):  # a download cut short stops the query too
        while chunk := list(islice(rows, chunk_events)):
            yield chunk


def jsonl_chunks(queryset, *, chunk_events=CHUNK_EVENTS):
    """The events of `queryset` as JSON Lines, bytes per chunk of events."""
    dumps, fragment, newline = orjson.dumps, orjson.Fragment, orjson.OPT_APPEND_NEWLINE
    for chunk in _chunks_of(queryset, chunk_events):
        lines = b"".join(
            [
                dumps(
                    {
                        "sequence": row[0],
                        "created_at": iso_8601(row[1]),
                        "actor_type": row[2],
                        "actor_label": row[3],
                        "action": row[4],
                        "object_type": row[5],
                        "object_id": row[6],
                        # before/after go out as the database's own JSON text, never parsed.
                        "before": None if row[7] is None else fragment(row[7]),
                        "after": None if row[8] is None else fragment(row[8]),
                        "reason": row[9],
                        "previous_hash": row[10],
                        "hash": row[11],
                    },
                    option=newline,
                )
                for row in chunk
            ]
        )
        # JSON allows U+2028 and U+2029 raw (only inside strings), but many line readers split
        # on them: written escaped, every event stays on its own line for any reader.
        yield lines.replace(b"\xe2\x80\xa8", b"\\u2028").replace(b"\xe2\x80\xa9", b"\\u2029")


def csv_chunks(queryset, *, chunk_events=CHUNK_EVENTS):
    """The events of `queryset` as CSV with a header row, bytes per chunk of events.

    The dialect is csv.writer's (comma, double quote, "\\n" between rows), written here
    directly: csv.writer takes ~10 µs per event on the JSON columns, character by character.
    One difference: a lone carriage return is quoted too (csv.writer leaves it bare, and csv
    readers then take it for the end of the row).
    """
    yield (",".join(ROW_FIELDS) + "\n").encode()
    field = _csv_field
    for chunk in _chunks_of(queryset, chunk_events):
        yield "".join(
            [
                f"{row[0]},{iso_8601(row[1])},{field(row[2])},{field(row[3])},"
                f"{field(row[4])},{field(row[5])},{field(row[6])},{_csv_json(row[7])},"
                f"{_csv_json(row[8])},{field(row[9])},{field(row[10])},{field(row[11])}\n"
                for row in chunk
            ]
        ).encode()


_NEEDS_QUOTES = re.compile(r'[,"\r\n]').search


def _csv_field(text):
    """A CSV field: quoted, with quotes doubled, when it holds a comma, quote or line break."""
    if _NEEDS_QUOTES(text) is None:
        return text
    return '"' + text.replace('"', '""') + '"'


def _csv_json(value):
    """A before/after column as a CSV field: the database's JSON text, null when empty."""
    if value is None:
        return "null"
    return _csv_field(json_text(value))


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
