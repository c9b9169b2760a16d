"""Bulk decisions: each selected item through the same function as a single decision."""

from dataclasses import dataclass

from oversight.services.review.common import InvalidDecision, ReviewError, _check_reason
from oversight.services.review.proposals import accept_proposal, reject_proposal
from oversight.services.review.scenarios import accept_scenario, reject_scenario
from oversight.services.review.strategies import accept, reject
from practice.models import PracticeScenario, Strategy
from taxonomy.models import TaxonomyProposal

# --- Bulk -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BulkResult:
    label: str
    done: bool
    message: str


BULK_DECISIONS = ("accept", "reject")
# Each kind of queue item: its model, its label, and its accept and reject functions.
KINDS = {
    "strategy": (Strategy, "Strategy", accept, reject),
    "proposal": (TaxonomyProposal, "Proposal", accept_proposal, reject_proposal),
    "scenario": (PracticeScenario, "Scenario", accept_scenario, reject_scenario),
}


def bulk_decide(selection, *, actor, decision, reason_code="", comment=""):
    """Accept or reject each selected item through the single-item functions, each in its own
    transaction; a refused item stops none of the others. `selection`: (kind, id, revision)
    with kind 'strategy', 'proposal' or 'scenario'. Returns one BulkResult per item, in order."""
    if decision not in BULK_DECISIONS:
        raise InvalidDecision(f"Unknown bulk decision {decision!r}: accept or reject.")
    if decision == "reject":
        _check_reason(reason_code, comment, required=True)
    results = []
    for kind, pk, revision in selection:
        if kind not in KINDS:
            results.append(BulkResult(f"{kind} #{pk}", False, f"{kind!r} is not a queue item."))
            continue
        model, name, accept_item, reject_item = KINDS[kind]
        label = f"{name} #{pk}"
        item = model.objects.filter(pk=pk).first()
        if item is None:
            results.append(BulkResult(label, False, f"{label} does not exist."))
            continue
        try:
            if decision == "accept":
                outcome = accept_item(item, actor=actor, revision=revision, comment=comment)
            else:
                outcome = reject_item(
                    item, actor=actor, revision=revision, reason_code=reason_code, comment=comment
                )
        except ReviewError as error:
            results.append(BulkResult(label, False, str(error)))
        else:
            results.append(BulkResult(label, True, outcome.message))
    return results
