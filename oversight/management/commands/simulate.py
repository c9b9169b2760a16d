import time

from django.core.management.base import BaseCommand, CommandError

from oversight.simulation import (
    POLICIES,
    SimulationConfig,
    SimulationError,
    auto_approval_enabled,
    run_simulation,
)


class Command(BaseCommand):
    help = (
        "Run simulated agents with hidden skill levels through the real services for a number "
        "of past days: live tasks, practice, reflection by the offline coach and, with "
        "ETUDE_SIMULATION_AUTO_APPROVE, auto-approval of part of the strategies. Everything it "
        "creates is labeled as a simulation. The same seed on the same data gives the same run."
    )

    def add_arguments(self, parser):
        defaults = SimulationConfig()
        parser.add_argument("--days", type=int, default=defaults.days)
        parser.add_argument(
            "--agents", type=int, default=defaults.agents, help="simulated agents to create"
        )
        parser.add_argument("--seed", type=int, default=defaults.seed)
        parser.add_argument(
            "--auto-approve-share",
            type=float,
            default=defaults.auto_approve_share,
            help="share of each day's new strategies that go live (needs "
            "ETUDE_SIMULATION_AUTO_APPROVE); the rest wait for reviewers",
        )
        parser.add_argument("--policy", choices=POLICIES, default=defaults.policy)
        parser.add_argument(
            "--live-tasks", type=int, default=defaults.live_tasks_per_day, help="per agent per day"
        )

    def handle(self, *args, **options):
        config = SimulationConfig(
            days=options["days"],
            agents=options["agents"],
            seed=options["seed"],
            auto_approve_share=options["auto_approve_share"],
            policy=options["policy"],
            live_tasks_per_day=options["live_tasks"],
        )
        if not auto_approval_enabled():
            self.stdout.write(
                "Auto-approval is off (ETUDE_SIMULATION_AUTO_APPROVE): every proposed strategy "
                "waits for reviewers."
            )
        started = time.monotonic()

        def progress(day):
            rate = day.successes / day.attempts if day.attempts else 0.0
            self.stdout.write(
                f"day {day.number:>3}/{config.days} ({day.date:%Y-%m-%d}): {day.attempts} attempts "
                f"({day.practice} practice), {rate:.0%} succeeded; {day.proposed} strategies "
                f"proposed, {day.approved} auto-approved"
                + (f", release {day.release}" if day.release else "")
            )

        try:
            report = run_simulation(config, progress=progress)
        except SimulationError as error:
            raise CommandError(str(error)) from None
        successes = sum(outcome.success for outcome in report.outcomes)
        practice = sum(outcome.source == "practice" for outcome in report.outcomes)
        self.stdout.write(
            self.style.SUCCESS(
                f"Simulated {config.days} days (seed {config.seed}, policy {config.policy}) in "
                f"{time.monotonic() - started:.0f} s: agents {', '.join(report.agents) or 'none'}; "
                f"{report.attempts} attempts ({practice} practice, "
                f"{successes / report.attempts if report.attempts else 0:.0%} succeeded), "
                f"{report.proposed} strategies proposed, {report.approved} auto-approved."
            )
        )
