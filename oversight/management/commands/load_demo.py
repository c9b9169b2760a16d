from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from oversight.demo import DemoHistory, load_demo_workspace


class Command(BaseCommand):
    help = (
        "Load the demo workspace (taxonomy, scenario bank, three agents, one user per role) and, "
        "the first time, a few weeks of simulated history. Development only."
    )

    def add_arguments(self, parser):
        defaults = DemoHistory()
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="load even when DEBUG is off (the demo users have published passwords)",
        )
        parser.add_argument(
            "--history-days",
            type=int,
            default=defaults.days,
            help=f"days of simulated history on the first load (default {defaults.days}; 0: none)",
        )
        parser.add_argument(
            "--simulated-agents",
            type=int,
            default=defaults.simulated_agents,
            help=f"simulated agents besides the demo agents (default {defaults.simulated_agents})",
        )

    def handle(self, *args, allow_production=False, **options):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "The demo workspace has published passwords; it loads only with DEBUG=1 "
                "(or --allow-production)."
            )
        if options["history_days"] < 0 or options["simulated_agents"] < 0:
            raise CommandError("--history-days and --simulated-agents cannot be negative.")
        history = None
        if options["history_days"]:
            history = DemoHistory(
                days=options["history_days"], simulated_agents=options["simulated_agents"]
            )
        report = load_demo_workspace(
            progress=lambda line: self.stdout.write(f"  {line}", ending="\n"), history=history
        )
        if report.new_keys:
            self.stdout.write(self.style.WARNING("  API keys (shown once, store them now):"))
            for name, secret in report.new_keys.items():
                self.stdout.write(f"    {name:<12} {secret}")
        if report.existing_agents:
            self.stdout.write(
                f"  agents already present: {', '.join(report.existing_agents)} "
                "(their keys were shown when created; `manage.py agent_key create NAME` "
                "issues a new one)"
            )
        self.stdout.write("  users (development passwords):")
        for name, role, password, created in report.users:
            note = "created" if created else "exists"
            self.stdout.write(f"    {name:<9} {password:<22} role {role} ({note})")
