from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from practice.scenario_file import ScenarioFileError, parse_scenarios
from practice.services.scenarios import load_scenarios


class Command(BaseCommand):
    help = "Create or update practice scenarios from a scenario bank YAML file (idempotent; all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("path", help="the scenario bank YAML file")

    def handle(self, *args, path, **options):
        file = Path(path)
        if not file.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            definitions = parse_scenarios(file.read_text(encoding="utf-8"))
            verbosity = options["verbosity"]

            def progress(done, total, key):
                if verbosity > 1:
                    self.stdout.write(f"  [{done}/{total}] {key}")

            report = load_scenarios(definitions, progress=progress)
        except UnicodeDecodeError:
            raise CommandError(f"{path}: not UTF-8 text; nothing was written") from None
        except ScenarioFileError as error:
            raise CommandError(
                f"{path} refused, nothing was written:\n"
                + "\n".join(
                    f"  {path}, line {line or '?'}: {reason}" for line, reason in error.problems
                )
            ) from None
        self.stdout.write(
            self.style.SUCCESS(
                f"{path}: {len(report.created)} created, {len(report.updated)} updated, "
                f"{len(report.unchanged)} unchanged."
            )
        )
