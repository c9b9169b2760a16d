from django.core.management.base import BaseCommand, CommandError

from practice.models import Agent
from practice.scheduler import schedule_practice
from practice.services import PracticeError


class Command(BaseCommand):
    help = "Queue practice for every active agent (or one), up to each agent's daily budget."

    def add_arguments(self, parser):
        parser.add_argument("--agent", help="only this agent (by name)")

    def handle(self, *args, agent=None, **options):
        target = None
        if agent is not None:
            target = Agent.objects.filter(name=agent).first()
            if target is None:
                raise CommandError(f"No agent named {agent!r}.")
        verbosity = options["verbosity"]

        def progress(schedule):
            used = schedule.used_before + len(schedule.assignments)
            self.stdout.write(
                f"{schedule.agent.name}: {len(schedule.assignments)} queued "
                f"({used} of {schedule.budget} used today)"
            )
            if verbosity > 1:
                for pick in schedule.picks:
                    self.stdout.write(
                        f"  {pick.reason:<6} {pick.skill.key} @ {pick.scenario.difficulty:.2f} "
                        f"(predicted success {pick.predicted_success:.0%}): {pick.why}"
                    )

        try:
            schedules = schedule_practice(target, progress=progress)
        except PracticeError as error:
            raise CommandError(str(error)) from None
        queued = sum(len(schedule.assignments) for schedule in schedules)
        self.stdout.write(
            self.style.SUCCESS(
                f"Queued {queued} practice item{'s' if queued != 1 else ''} "
                f"for {len(schedules)} agent{'s' if len(schedules) != 1 else ''}."
            )
        )
