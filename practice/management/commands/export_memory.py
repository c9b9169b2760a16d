"""Write a memory release as a folder of Markdown files (see practice.memory_files)."""

from django.core.management.base import BaseCommand, CommandError

from practice.memory_files import MemoryFileError, release_files, release_strategies, write_folder
from practice.models import MemoryRelease
from practice.services.strategies import current_release


class Command(BaseCommand):
    help = (
        "Write a memory release (the current one unless --release N) into DIR: index.md and one "
        "Markdown file per strategy. The same release always gives the same bytes."
    )

    def add_arguments(self, parser):
        parser.add_argument("directory", metavar="DIR", help="an empty folder or an earlier export")
        parser.add_argument("--release", type=int, metavar="N", help="the release number")

    def handle(self, *args, directory, release=None, **options):
        chosen = self.release(release)
        strategies = release_strategies(chosen)
        try:
            write_folder(directory, release_files(chosen, strategies))
        except (MemoryFileError, OSError) as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"Release {chosen.number}: {len(strategies)} strategies written to {directory}."
            )
        )

    def release(self, number):
        if number is None:
            chosen = current_release()
            if chosen is None:
                raise CommandError("No memory release has been published yet.")
            return chosen
        chosen = MemoryRelease.objects.filter(number=number).first()
        if chosen is None:
            raise CommandError(f"There is no release {number}.")
        return chosen
