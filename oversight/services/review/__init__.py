"""The review workflow: claims on items, and every decision on strategies, taxonomy proposals
and proposed practice scenarios (the coach's LLM-written variants).

Each decision is one function and one transaction. It checks that the actor has the reviewer
role, that nobody else holds the item, and that the item is still at the revision the reviewer
saw (otherwise StaleItem says what changed, and nothing is applied). It then makes the change
through the practice and taxonomy services, which audit their own changes, records a
ReviewDecision with an audit event, and publishes a memory release when live memory changed
(accept, edit-and-accept, replace, keep both, retire), so agents see the change on their next
pull and not before. A scenario decision changes the scenario itself (its audit event holds it
before and after); only approved scenarios are ever assigned by the scheduler.

What lives where: `common` (roles, errors, the outcome, recording a decision), `claims`,
`strategies`, `proposals` (taxonomy proposals), `scenarios`, `bulk`.

Sensitive skills need two approvals by two different people. The approvals of a strategy are
those of its current text: 'approve' decisions recorded on its current version, plus the person
who wrote that version by editing or restoring it (an edit is its author's approval). The first
accept records an 'approve' decision and leaves the strategy proposed; an accept by someone who
has not yet approved that text makes it live; an accept by someone who already has is refused.
"""

from oversight.services.review.bulk import BULK_DECISIONS, BulkResult, bulk_decide
from oversight.services.review.claims import active_claim, claim_item, release_claim
from oversight.services.review.common import (
    OPERATE_PERMISSION,
    REVIEW_PERMISSION,
    Action,
    ClaimedByOther,
    InvalidDecision,
    NotAllowed,
    Outcome,
    Reason,
    ReviewError,
    SecondApprovalNeeded,
    StaleItem,
    claim_minutes,
)
from oversight.services.review.proposals import accept_proposal, proposal_snapshot, reject_proposal
from oversight.services.review.scenarios import (
    UNCHANGED,
    accept_scenario,
    read_expected_actions,
    reject_scenario,
    scenario_snapshot,
)
from oversight.services.review.strategies import (
    RESOLUTIONS,
    accept,
    approvers,
    edit_and_accept,
    reject,
    resolve_conflict,
    restore_version,
    retire,
)

__all__ = [
    "Action",
    "BULK_DECISIONS",
    "BulkResult",
    "ClaimedByOther",
    "InvalidDecision",
    "NotAllowed",
    "OPERATE_PERMISSION",
    "Outcome",
    "RESOLUTIONS",
    "REVIEW_PERMISSION",
    "Reason",
    "ReviewError",
    "SecondApprovalNeeded",
    "StaleItem",
    "UNCHANGED",
    "accept",
    "accept_proposal",
    "accept_scenario",
    "active_claim",
    "approvers",
    "bulk_decide",
    "claim_item",
    "claim_minutes",
    "edit_and_accept",
    "proposal_snapshot",
    "read_expected_actions",
    "reject",
    "reject_proposal",
    "reject_scenario",
    "release_claim",
    "resolve_conflict",
    "restore_version",
    "retire",
    "scenario_snapshot",
]
