"""Oversight rules as plain functions, split by subject:

- roles: the role groups and their permissions
- audit: the hash-chained audit log
- review: the review workflow (claims, decisions, approvals)
"""

from oversight.services.audit import append_event, event_hash
from oversight.services.audit_verify import verify_chain
from oversight.services.roles import Role, assign_role, ensure_roles

__all__ = ["Role", "append_event", "assign_role", "ensure_roles", "event_hash", "verify_chain"]
