"""The signal every app sends when something agents use, or how they are governed, changes.

The oversight app receives it and appends an audit event in the same transaction; the sending
apps stay unaware of oversight (dependencies point one way).

Arguments: actor (a user, an agent or None for the system), action ("skill.created"),
object_type, object_id, before, after (JSON-ready dicts or None), reason (text).
"""

from django.dispatch import Signal

governed_change = Signal()


def record_change(
    *, actor, action, object_type, object_id, before=None, after=None, reason="", sender=None
):
    """Announce a governed change; must be called inside the transaction that made it."""
    governed_change.send(
        sender=sender or record_change,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=before,
        after=after,
        reason=reason,
    )
