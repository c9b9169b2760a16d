"""Every write to the taxonomy: skills, the taxonomy file loader, and proposals."""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError

from taxonomy.models import Skill
from taxonomy.signals import record_change


class TaxonomyError(Exception):
    """A taxonomy change that is not allowed; the message says why."""


def skill_snapshot(skill):
    """The fields of a skill as they appear in the audit log."""
    return {
        "key": skill.key,
        "parent": skill.parent.key if skill.parent_id else None,
        "name": skill.name,
        "description": skill.description,
        "kind": skill.kind,
        "origin": skill.origin,
        "sensitive": skill.sensitive,
        "mastery_threshold": skill.mastery_threshold,
        "active": skill.active,
    }


def create_skill(*, key, name, actor=None, reason="", **fields):
    """Create a skill under the parent its dotted key names; the parent must exist."""
    parent = None
    if "." in key:
        parent_key = key.rsplit(".", 1)[0]
        parent = Skill.objects.filter(key=parent_key).first()
        if parent is None:
            raise TaxonomyError(f"Cannot create {key}: its parent {parent_key} does not exist.")
    if Skill.objects.filter(key=key).exists():
        raise TaxonomyError(f"A skill with key {key} already exists.")
    # depth is normally set by save(); full_clean checks the depth constraint before that.
    skill = Skill(key=key, name=name, parent=parent, depth=key.count("."), **fields)
    try:
        skill.full_clean()
    except ValidationError as error:
        raise TaxonomyError(f"Cannot create {key}: {_messages(error)}") from None
    with transaction.atomic():
        skill.save()
        record_change(
            actor=actor,
            action="skill.created",
            object_type="skill",
            object_id=skill.key,
            after=skill_snapshot(skill),
            reason=reason,
        )
    return skill


def delete_skill(skill, *, actor=None, reason=""):
    """Delete a skill nothing refers to; skills in use can only be deactivated."""
    before = skill_snapshot(skill)
    try:
        with transaction.atomic():
            skill.delete()
            record_change(
                actor=actor,
                action="skill.deleted",
                object_type="skill",
                object_id=before["key"],
                before=before,
                reason=reason,
            )
    except ProtectedError as error:
        kinds = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise TaxonomyError(
            f"Skill {before['key']} cannot be deleted: {', '.join(kinds)} refer to it. "
            "Deactivate it instead."
        ) from None


def set_skill_active(skill, active, *, actor=None, reason=""):
    before = skill_snapshot(skill)
    if skill.active == active:
        return skill
    with transaction.atomic():
        skill.active = active
        skill.save(update_fields=["active", "updated_at"])
        record_change(
            actor=actor,
            action="skill.activated" if active else "skill.deactivated",
            object_type="skill",
            object_id=skill.key,
            before=before,
            after=skill_snapshot(skill),
            reason=reason,
        )
    return skill


# --- Loading a taxonomy file -----------------------------------------------------------------------


@dataclass
class LoadReport:
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)

    @property
    def changed(self):
        return bool(self.created or self.updated)


def load_taxonomy(definitions, *, actor=None, progress=None):
    """Create or update the skills of a parsed taxonomy file (see taxonomy.taxonomy_file).

    Idempotent: a skill whose fields already match is left untouched. Skills absent from the
    file are left alone. All or nothing: one transaction.
    """
    report = LoadReport()
    with transaction.atomic():
        existing = {skill.key: skill for skill in Skill.objects.select_related("parent")}
        for index, definition in enumerate(definitions, start=1):
            _apply_definition(definition, existing, report, actor)
            if progress:
                progress(index, len(definitions), definition["key"])
    return report


def _apply_definition(definition, existing, report, actor):
    key = definition["key"]
    parent_key = key.rsplit(".", 1)[0] if "." in key else None
    parent = existing.get(parent_key) if parent_key else None
    if parent_key and parent is None:
        raise TaxonomyError(f"{key}: its parent {parent_key} does not exist.")
    fields = {
        name: value for name, value in definition.items() if name not in {"key", "line", "stated"}
    }
    skill = existing.get(key)
    if skill is None:
        skill = Skill(key=key, parent=parent, **fields)
        skill.save()
        existing[key] = skill
        report.created.append(key)
        record_change(
            actor=actor,
            action="skill.created",
            object_type="skill",
            object_id=key,
            after=skill_snapshot(skill),
            reason="taxonomy file",
        )
        return
    stated = definition.get("stated", fields.keys())
    changes = {
        name: value
        for name, value in fields.items()
        if name in stated and getattr(skill, name) != value
    }
    if not changes:
        report.unchanged.append(key)
        return
    before = skill_snapshot(skill)
    for name, value in changes.items():
        setattr(skill, name, value)
    skill.save()
    report.updated.append(key)
    record_change(
        actor=actor,
        action="skill.updated",
        object_type="skill",
        object_id=key,
        before=before,
        after=skill_snapshot(skill),
        reason="taxonomy file",
    )


def _messages(error):
    if hasattr(error, "message_dict"):
        return "; ".join(
            f"{name}: {' '.join(messages)}" for name, messages in error.message_dict.items()
        )
    return " ".join(error.messages)


# --- Proposals ----------------------------------------------------------------------------------


def propose_skill(
    *,
    parent,
    key,
    name,
    description,
    rationale,
    kind,
    evidence,
    proposer_type,
    proposer_name,
    proposed_by=None,
    actor=None,
):
    """File a proposal for a new sub-skill or failure mode; it changes nothing until accepted."""
    from taxonomy.models import TaxonomyProposal

    if not key.startswith(f"{parent.key}.") or "." in key[len(parent.key) + 1 :]:
        raise TaxonomyError(f"{key} must be one level below its parent {parent.key}.")
    if Skill.objects.filter(key=key).exists():
        raise TaxonomyError(f"A skill with key {key} already exists.")
    open_one = TaxonomyProposal.objects.filter(key=key, status=TaxonomyProposal.Status.PROPOSED)
    if open_one.exists():
        raise TaxonomyError(
            f"Proposal {open_one.first().pk} for {key} is already waiting for review."
        )
    proposal = TaxonomyProposal(
        parent=parent,
        key=key,
        name=name,
        description=description,
        rationale=rationale,
        kind=kind,
        evidence=sorted(set(evidence)),
        proposer_type=proposer_type,
        proposer_name=proposer_name,
        proposed_by=proposed_by,
    )
    try:
        proposal.full_clean()
    except ValidationError as error:
        raise TaxonomyError(f"Proposal for {key} refused: {_messages(error)}") from None
    with transaction.atomic():
        proposal.save()
        record_change(
            actor=actor,
            action="taxonomy_proposal.created",
            object_type="taxonomy_proposal",
            object_id=proposal.pk,
            after={
                "parent": parent.key,
                "key": key,
                "name": name,
                "kind": kind,
                "rationale": rationale,
                "evidence": proposal.evidence,
                "proposer": f"{proposer_type}:{proposer_name}",
            },
        )
    return proposal
