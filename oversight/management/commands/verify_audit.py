"""Recompute the audit chain, in the database or in an export file, and say whether it holds."""

import time

from django.core.management.base import BaseCommand, CommandError

from oversight.models import AuditEvent
from oversight.services.audit import chain_head
from oversight.services.audit_export import ExportFormatError, find_in_file, read_events
from oversight.services.audit_verify import verify_chain, verify_events

TAMPERED = 1
UNREADABLE = 2


class Command(BaseCommand):
    help = (
        "Verify the hash-chained audit log: reports the first event that was changed, "
        "removed, inserted or reordered, or that all N events check out (exit code 1 on "
        "tampering). With --file, verifies a CSV or JSON Lines export without the database."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--file", help="An export (.jsonl or .csv) to verify offline.")
        parser.add_argument(
            "--partial",
            action="store_true",
            help="The file is a filtered export: check every event's hash, and the link to "
            "the previous event where both are in the file.",
        )

    def handle(self, *args, file=None, partial=False, **options):
        started = time.monotonic()
        if file:
            count, broken = self.verify_file(file, partial)
        else:
            total = AuditEvent.objects.count()
            self.stdout.write(f"Verifying {total:,} audit events…")
            count, broken = verify_chain(progress=self.progress(total))
        seconds = time.monotonic() - started
        if broken is not None:
            raise CommandError(
                f"Event {broken.sequence} was {broken.kind}: {broken.why} "
                f"(found after reading {count:,} events).",
                returncode=TAMPERED,
            )
        rate = f" in {seconds:.1f} s ({count / seconds:,.0f} events/s)" if seconds > 0.5 else ""
        scope = "selected events" if partial else "events"
        self.stdout.write(self.style.SUCCESS(f"All {count:,} {scope} check out{rate}."))
        head = chain_head() if not file else None
        if head:
            self.stdout.write(f"Head: event {head[0]}, hash {head[1]} (keep it to compare later).")

    def verify_file(self, path, partial):
        self.stdout.write(f"Verifying {path} offline…")
        try:
            return verify_events(
                read_events(path),
                partial=partial,
                progress=self.progress(None),
                find_sequence=find_in_file(path),
            )
        except OSError as error:
            raise CommandError(f"Cannot read {path}: {error}", returncode=UNREADABLE) from None
        except ExportFormatError as error:
            raise CommandError(f"{path}, {error}", returncode=UNREADABLE) from None

    def progress(self, total):
        def report(count):
            share = f" ({count / total:.0%})" if total else ""
            self.stdout.write(f"  {count:,} events checked{share}")

        return report
