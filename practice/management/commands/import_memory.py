"""Read a folder of strategy files back as proposals for review (see practice.memory_files)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from practice.memory_files import MemoryFileError, import_strategies, read_folder


class Command(BaseCommand):
    help = (
        "Propose the strategies of a memory folder (as written by export_memory, or by hand) for "
        "review; never live. A malformed file refuses the whole folder and nothing is written; "
        "a strategy identical to a proposed or live one of its skill is skipped."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR")
        parser.add_argument(
            "--user", help="the user the proposals are recorded for (default: import_memory)"
        )

    def handle(self, *args, directory, user=None, **options):
        actor = self.actor(user)
        try:
            report = import_strategies(read_folder(directory), actor=actor)
        except MemoryFileError as error:
            raise CommandError(
                f"{directory} refused, nothing was written:\n"
                + "\n".join(f"  {line}" for line in str(error).splitlines())
            ) from None
        for path, strategy in report.proposed:
            self.stdout.write(f"  proposed  {path} -> strategy {strategy.pk}")
        for path, strategy, problems in report.filtered:
            self.stdout.write(
                f"  filtered  {path} -> strategy {strategy.pk} ({'; '.join(problems)})"
            )
        for path, why in report.skipped:
            self.stdout.write(f"  skipped   {path}: {why}")
        self.stdout.write(
            self.style.SUCCESS(
                f"{len(report.proposed)} proposed for review, {len(report.filtered)} filtered by "
                f"the quality gate, {len(report.skipped)} skipped as already known."
            )
        )

    def actor(self, username):
        if username is None:
            return "import_memory"
        found = get_user_model().objects.filter(username=username).first()
        if found is None:
            raise CommandError(f"There is no user {username}.")
        return found
