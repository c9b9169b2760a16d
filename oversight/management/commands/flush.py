"""Django's flush, able to empty the append-only audit log too.

The database refuses to delete audit events (migration oversight 0003), so Django's own flush
fails once the log holds an event; the test runner flushes after every transactional test.
Flush wipes every table by definition: this one lifts the guard for its own transaction only.
"""

from django.core.management.commands import flush
from django.db import connections

from oversight.services.audit import append_only_guard_lifted

CONFIRM = """You have requested a flush of the database.
This will IRREVERSIBLY DESTROY all data currently in the "%s" database, the audit log
included, and return each table to an empty state.
Are you sure you want to do this?

    Type 'yes' to continue, or 'no' to cancel: """


class Command(flush.Command):
    help = flush.Command.help + " The append-only audit log is emptied too."

    def handle(self, **options):
        database = options["database"]
        if options["interactive"]:
            if input(CONFIRM % connections[database].settings_dict["NAME"]) != "yes":
                self.stdout.write("Flush cancelled.")
                return
        # Asked before the transaction starts: no lock is held while a person reads the prompt.
        with append_only_guard_lifted(database):
            super().handle(**{**options, "interactive": False})
