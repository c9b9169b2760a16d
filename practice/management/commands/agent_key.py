from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from practice.models import Agent, AgentKey
from practice.services import PracticeError
from practice.services import agents as agent_services


class Command(BaseCommand):
    help = "Create, list or revoke an agent's API keys. A new key is printed once."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="issue a new key for an agent")
        create.add_argument("agent", help="the agent's name")
        create.add_argument("--label", default="", help="what the key is for")
        create.add_argument(
            "--expires-days", type=int, default=None, help="the key stops working after N days"
        )
        listing = actions.add_parser(
            "list", help="list an agent's keys (never the keys themselves)"
        )
        listing.add_argument("agent", help="the agent's name")
        revoke = actions.add_parser("revoke", help="revoke a key by its prefix")
        revoke.add_argument("prefix", help="the key's prefix (the part after 'etude_')")
        revoke.add_argument("--reason", default="", help="why, for the audit log")

    def handle(self, *args, action, **options):
        getattr(self, f"_{action}")(**options)

    def _agent(self, name):
        agent = Agent.objects.filter(name=name).first()
        if agent is None:
            raise CommandError(f"No agent named {name!r}.")
        return agent

    def _create(self, agent, label, expires_days, **options):
        if expires_days is not None and expires_days < 1:
            raise CommandError("--expires-days must be at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_days) if expires_days else None
        issued = agent_services.issue_key(
            self._agent(agent), label=label, expires_at=expires_at, actor="management command"
        )
        self.stdout.write(self.style.WARNING("The key is shown once; store it now:"))
        self.stdout.write(issued.secret)

    def _list(self, agent, **options):
        keys = AgentKey.objects.filter(agent=self._agent(agent))
        if not keys:
            self.stdout.write("No keys.")
        for key in keys:
            state = "usable" if key.is_usable else ("revoked" if key.revoked_at else "expired")
            expires = f"expires {key.expires_at:%Y-%m-%d}" if key.expires_at else "no expiry"
            self.stdout.write(
                f"{key.prefix}  {state:<8} created {key.created_at:%Y-%m-%d}  {expires}  {key.label}"
            )

    def _revoke(self, prefix, reason, **options):
        key = AgentKey.objects.select_related("agent").filter(prefix=prefix).first()
        if key is None:
            raise CommandError(f"No key with prefix {prefix!r}.")
        try:
            agent_services.revoke_key(key, actor="management command", reason=reason)
        except PracticeError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(self.style.SUCCESS(f"Key {prefix} of {key.agent.name} revoked."))
