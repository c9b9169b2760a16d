from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from practice.models import Agent
from practice.services import PracticeError
from practice.services.agents import is_within_boundaries
from practice.services.imports import import_tau_bench_runs
from practice.tau_bench import ResultsFileError, read_results
from taxonomy.models import Skill


class Command(BaseCommand):
    help = (
        "Store the runs of a tau-bench results file as live attempts of an agent on a skill. "
        "Runs already imported are skipped; runs that cannot be read are refused with a reason."
    )

    def add_arguments(self, parser):
        parser.add_argument("results", help="the JSON results file tau-bench's run.py wrote")
        parser.add_argument("--agent", required=True, help="the agent's name")
        parser.add_argument("--skill", required=True, help="the skill key the tasks exercise")

    def handle(self, *args, results, verbosity, **options):
        agent = Agent.objects.filter(name=options["agent"]).first()
        if agent is None:
            raise CommandError(f"No agent named {options['agent']!r}.")
        skill = Skill.objects.filter(key=options["skill"]).first()
        if skill is None:
            raise CommandError(f"No skill with key {options['skill']!r}.")
        runs = self._read(results)

        def progress(done, total, report):
            if verbosity > 0:
                self.stdout.write(
                    f"imported {done:,}/{total:,}… "
                    f"({report.imported:,} new, {report.skipped:,} already there)"
                )

        try:
            report = import_tau_bench_runs(agent, skill, runs, progress=progress)
        except PracticeError as error:
            raise CommandError(str(error)) from None
        if verbosity == 0:
            return
        summary = (
            f"{results}: {report.imported:,} imported, {report.skipped:,} skipped "
            f"(already there), {len(report.refused):,} refused."
        )
        self.stdout.write(self.style.SUCCESS(summary))
        if report.refused:
            self.stdout.write(self.style.WARNING("Refused:"))
            for refused in report.refused:
                self.stdout.write(f"  {refused.run}: {'; '.join(refused.reasons)}")
        if report.imported and not is_within_boundaries(agent, skill):
            self.stdout.write(
                self.style.WARNING(
                    f"{skill.key} is outside the boundaries of {agent.name}: "
                    "these attempts are stored but never learned from."
                )
            )

    def _read(self, results):
        file = Path(results)
        if not file.is_file():
            raise CommandError(f"{results}: no such file.")
        try:
            return read_results(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise CommandError(f"{results}: not UTF-8 text; nothing was written.") from None
        except ResultsFileError as error:
            raise CommandError(f"{results}: {error}; nothing was written.") from None
