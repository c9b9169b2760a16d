"""The demo workspace `make run` starts with: the demo taxonomy, three agents, one user per role.

For development only: the users get fixed, printed passwords.
"""

from dataclasses import dataclass, field
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction

from oversight.services import Role, assign_role
from practice.models import Agent
from practice.services import agents as agent_services
from taxonomy import services as taxonomy_services
from taxonomy.taxonomy_file import parse_taxonomy

DEMO_TAXONOMY = (
    Path(__file__).resolve().parent.parent / "taxonomy" / "fixtures" / "demo_taxonomy.yaml"
)

DEMO_AGENTS = [
    (
        "support-bot",
        "General customer-service agent: answers questions and acts on orders.",
        ["intent", "retrieval", "explaining", "tools", "policy", "escalation", "tone"],
    ),
    (
        "returns-bot",
        "Handles returns, exchanges and refunds with the order tools.",
        ["tools", "policy"],
    ),
    (
        "triage-bot",
        "First contact: works out what the customer needs and routes or escalates.",
        ["intent", "escalation", "tone"],
    ),
]

DEMO_USERS = [
    # (user name, role, password, staff: may open the admin with its role's permissions)
    ("reviewer", Role.REVIEWER, "etude-reviewer-demo", False),
    ("operator", Role.OPERATOR, "etude-operator-demo", True),
    ("auditor", Role.AUDITOR, "etude-auditor-demo", True),
    ("admin", Role.ADMIN, "etude-admin-demo", True),
]


@dataclass
class DemoReport:
    skills_created: int = 0
    new_keys: dict = field(default_factory=dict)  # agent name -> key text, shown once
    existing_agents: list = field(default_factory=list)
    users: list = field(default_factory=list)  # (name, role, password, created)


def load_demo_workspace(*, progress=None):
    """Create whatever of the demo workspace is missing; existing parts are reused."""
    report = DemoReport()
    with transaction.atomic():
        definitions = parse_taxonomy(DEMO_TAXONOMY.read_text(encoding="utf-8"))
        loaded = taxonomy_services.load_taxonomy(definitions, actor="demo workspace")
        report.skills_created = len(loaded.created)
        if progress:
            progress(
                f"taxonomy: {len(loaded.created)} skills created, {len(loaded.unchanged)} unchanged"
            )
        for name, description, boundaries in DEMO_AGENTS:
            if Agent.objects.filter(name=name).exists():
                report.existing_agents.append(name)
                continue
            agent = agent_services.create_agent(
                name=name, description=description, boundaries=boundaries, actor="demo workspace"
            )
            issued = agent_services.issue_key(agent, label="demo", actor="demo workspace")
            report.new_keys[name] = issued.secret
        for name, role, password, staff in DEMO_USERS:
            report.users.append((name, role, password, _ensure_user(name, role, password, staff)))
    return report


def _ensure_user(name, role, password, staff):
    users = get_user_model()
    user, created = users.objects.get_or_create(username=name)
    if created:
        user.set_password(password)
        user.is_staff = staff
        user.is_superuser = role == Role.ADMIN
        user.save()
    assign_role(user, role)
    return created
