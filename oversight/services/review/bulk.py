"""Bulk decisions: each selected item through the same function as a single decision."""

from dataclasses import dataclass

from oversight.services.review.common import InvalidDecision, ReviewError, _check_reason
from oversight.services.review.proposals import accept_proposal, reject_proposal
from oversight.services.review.strategies import accept, reject
from practice.models import Strategy
from taxonomy.models import TaxonomyProposal

# --- Bulk -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    label: str
    done: bool
    message: str


BULK_DECISIONS = ("accept", "reject")


def bulk_decide(selection, *, actor, decision, reason_code="", comment=""):
    """Accept or reject each selected item through the single-item functions, each in its own
    transaction; a refused item stops none of the others. `selection`: (kind, id, revision)
    with kind 'strategy' or 'proposal'. Returns one BulkResult per item, in order."""
    if decision not in BULK_DECISIONS:
        raise InvalidDecision(f"Unknown bulk decision {decision!r}: accept or reject.")
    if decision == "reject":
        _check_reason(reason_code, comment, required=True)
    results = []
    models = {"strategy": Strategy, "proposal": TaxonomyProposal}
    for kind, pk, revision in selection:
        label = f"{'Strategy' if kind == 'strategy' else 'Proposal'} #{pk}"
        item = models[kind].objects.filter(pk=pk).first() if kind in models else None
        if item is None:
            results.append(BulkResult(label, False, f"{label} does not exist."))
            continue
        try:
            outcome = _decide_one(item, decision, actor, revision, reason_code, comment)
        except ReviewError as error:
            results.append(BulkResult(label, False, str(error)))
        else:
            results.append(BulkResult(label, True, outcome.message))
    return results


def _decide_one(item, decision, actor, revision, reason_code, comment):
    if isinstance(item, Strategy):
        if decision == "accept":
            return accept(item, actor=actor, revision=revision, comment=comment)
        return reject(
            item, actor=actor, revision=revision, reason_code=reason_code, comment=comment
        )
    if decision == "accept":
        return accept_proposal(item, actor=actor, revision=revision, comment=comment)
    return reject_proposal(
        item, actor=actor, revision=revision, reason_code=reason_code, comment=comment
    )
