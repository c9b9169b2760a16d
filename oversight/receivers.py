"""Connects the audit log to the governed changes the other apps announce."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from oversight import services
from taxonomy.signals import governed_change


@receiver(governed_change, dispatch_uid="oversight.audit")
def audit_governed_change(
    sender, *, actor, action, object_type, object_id, before, after, reason, **kwargs
):
    services.append_event(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        reason=reason,
    )


@receiver(post_migrate, dispatch_uid="oversight.roles")
def create_roles(sender, app_config=None, **kwargs):
    if app_config is not None and app_config.label == "oversight":
        services.ensure_roles()
