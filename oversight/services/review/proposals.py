"""Decisions on taxonomy proposals."""

from django.db import transaction
from django.utils import timezone

from oversight.services.review.claims import _check_claim, _drop_claim
from oversight.services.review.common import (
    REVIEW_PERMISSION,
    Action,
    InvalidDecision,
    Outcome,
    Reason,
    _check_reason,
    _check_revision,
    _record,
    _require,
)
from taxonomy import services as taxonomy_services
from taxonomy.models import Skill, TaxonomyProposal

# --- Taxonomy proposals --------------------------------------------------------------------------


def accept_proposal(
    proposal, *, actor, revision, key=None, name=None, description=None, comment=""
):
    """Create the proposed skill (origin discovered, the proposal's kind), with the reviewer's
    changes to its key, name and description; the key names its parent."""
    with transaction.atomic():
        proposal = _open_proposal(proposal, actor, revision)
        key = (key or proposal.key).strip()
        name = (name or proposal.name).strip()
        description = proposal.description if description is None else description.strip()
        if "." not in key:
            raise InvalidDecision(f"{key} has no parent: a discovered skill sits below another.")
        before = proposal_snapshot(proposal)
        try:
            skill = taxonomy_services.create_skill(
                key=key,
                name=name,
                description=description,
                kind=proposal.kind,
                origin=Skill.Origin.DISCOVERED,
                actor=actor,
                reason=f"Taxonomy proposal #{proposal.pk} accepted",
            )
        except taxonomy_services.TaxonomyError as error:
            raise InvalidDecision(str(error)) from None
        proposal = _decide_proposal(
            proposal, actor, TaxonomyProposal.Status.ACCEPTED, created_skill=skill, comment=comment
        )
        after = {**proposal_snapshot(proposal), "skill": taxonomy_services.skill_snapshot(skill)}
        decision = _record(
            proposal,
            actor=actor,
            action=Action.ACCEPT,
            revision=revision,
            before=before,
            after=after,
            comment=comment,
        )
        _drop_claim(proposal)
    return Outcome(
        proposal, decision, None, f"Skill {skill.key} created from proposal #{proposal.pk}."
    )


def reject_proposal(proposal, *, actor, revision, reason_code, comment=""):
    """Reject a taxonomy proposal with a reason code (and a comment when the reason is 'other')."""
    _check_reason(reason_code, comment, required=True)
    with transaction.atomic():
        proposal = _open_proposal(proposal, actor, revision)
        before = proposal_snapshot(proposal)
        proposal = _decide_proposal(
            proposal,
            actor,
            TaxonomyProposal.Status.REJECTED,
            reason_code=reason_code,
            comment=comment,
        )
        decision = _record(
            proposal,
            actor=actor,
            action=Action.REJECT,
            revision=revision,
            before=before,
            after=proposal_snapshot(proposal),
            reason_code=reason_code,
            comment=comment,
        )
        _drop_claim(proposal)
    return Outcome(
        proposal,
        decision,
        None,
        f"Proposal #{proposal.pk} ({proposal.key}) rejected ({Reason(reason_code).label.lower()}).",
    )


def proposal_snapshot(proposal):
    """A taxonomy proposal as it appears in decisions and the audit log."""
    return {
        "key": proposal.key,
        "parent": proposal.parent.key,
        "name": proposal.name,
        "kind": proposal.kind,
        "status": proposal.status,
        "revision": proposal.revision,
        "created_skill": proposal.created_skill.key if proposal.created_skill_id else None,
    }


def _open_proposal(proposal, actor, revision):
    _require(actor, REVIEW_PERMISSION, "decide taxonomy proposals")
    proposal = (
        TaxonomyProposal.objects.select_for_update(of=("self",))
        .select_related("parent")
        .get(pk=proposal.pk)
    )
    _check_claim(proposal, actor)
    _check_revision(proposal, revision)
    if proposal.status != TaxonomyProposal.Status.PROPOSED:
        raise InvalidDecision(
            f"Proposal #{proposal.pk} is already {proposal.get_status_display().lower()}."
        )
    return proposal


def _decide_proposal(proposal, actor, status, *, created_skill=None, reason_code="", comment=""):
    proposal.status = status
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decision_reason = reason_code
    proposal.decision_comment = comment
    proposal.created_skill = created_skill
    proposal.revision += 1
    proposal.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_reason",
            "decision_comment",
            "created_skill",
            "revision",
        ]
    )
    return proposal
