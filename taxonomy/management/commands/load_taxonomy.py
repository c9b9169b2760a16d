from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from taxonomy import services
from taxonomy.taxonomy_file import TaxonomyFileError, parse_taxonomy


class Command(BaseCommand):
    help = "Create or update skills from a taxonomy YAML file (idempotent; all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the taxonomy YAML file")

    def handle(self, *args, path, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            definitions = parse_taxonomy(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text; nothing was written") from None
        except TaxonomyFileError as error:
            raise CommandError(
                f"{path} refused, nothing was written:\n"
                + "\n".join(
                    f"  {path}, line {line or '?'}: {reason}" for line, reason in error.problems
                )
            ) from None
        verbosity = options["verbosity"]

        def progress(done, total, key):
            if verbosity > 1:
                self.stdout.write(f"  [{done}/{total}] {key}")

        try:
            report = services.load_taxonomy(definitions, progress=progress)
        except services.TaxonomyError as error:
            raise CommandError(f"{path} refused, nothing was written: {error}") from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{path}: {len(report.created)} created, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged."
            )
        )
