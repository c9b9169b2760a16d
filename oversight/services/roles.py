"""Roles: groups with exactly the permissions each role needs."""

from django.contrib.auth.models import Group, Permission


class Role:
    REVIEWER = "reviewer"
    OPERATOR = "operator"
    AUDITOR = "auditor"
    ADMIN = "admin"


# Permissions per role, as "app_label.codename". Every role may view the taxonomy and the
# practice data (API keys aside: only hashes and prefixes, still for operators and auditors);
# only the listed permissions allow changes.
def _view_all():
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in Permission.objects.filter(
            content_type__app_label__in=["taxonomy", "practice"], codename__startswith="view_"
        ).select_related("content_type")
        if p.codename != "view_agentkey"
    } | {"oversight.view_reviewdecision"}


ROLE_PERMISSIONS = {
    Role.REVIEWER: ["oversight.review_items"],
    Role.OPERATOR: [
        "oversight.operate",
        "taxonomy.add_skill",
        "taxonomy.change_skill",
        "practice.add_agent",
        "practice.change_agent",
        "practice.add_agentboundary",
        "practice.delete_agentboundary",
        "practice.add_agentkey",
        "practice.change_agentkey",
        "practice.view_agentkey",
        "practice.add_practicescenario",
        "practice.change_practicescenario",
        "practice.add_practiceassignment",
        "practice.change_practiceassignment",
    ],
    Role.AUDITOR: ["oversight.view_auditevent", "oversight.export_audit", "practice.view_agentkey"],
}


def ensure_roles():
    """Create the role groups and give each exactly its permissions (idempotent)."""
    everything = Permission.objects.filter(
        content_type__app_label__in=["taxonomy", "practice", "oversight"]
    )
    for role, names in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(_permissions(sorted(_view_all() | set(names))))
    admin, _ = Group.objects.get_or_create(name=Role.ADMIN)
    admin.permissions.set(everything)


def _permissions(names):
    wanted = [name.split(".", 1) for name in names]
    found = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted},
        codename__in={codename for _, codename in wanted},
    ).select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in found}
    missing = sorted(set(names) - set(by_name))
    if missing:
        raise LookupError(f"Permissions missing for the roles: {', '.join(missing)}")
    return [by_name[name] for name in names]


def assign_role(user, role):
    user.groups.add(Group.objects.get(name=role))
