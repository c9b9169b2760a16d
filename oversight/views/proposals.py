"""A taxonomy proposal under review (a new skill or subskill an agent or the coach suggests) and
the decisions on it. Permissions and the decision flow are in `common`."""

from django.shortcuts import get_object_or_404, render

from oversight import selectors
from oversight.services import review
from oversight.views import forms
from oversight.views.common import claim_on_open, decide, deciding, item_context, put_back, reading
from taxonomy.models import TaxonomyProposal

READ_PROPOSALS = "taxonomy.view_taxonomyproposal"


@reading(READ_PROPOSALS)
def proposal_item(request, pk):
    proposal = get_object_or_404(TaxonomyProposal, pk=pk)
    if proposal.status == TaxonomyProposal.Status.PROPOSED:
        claim_on_open(request, proposal)
    return _proposal_page(request, proposal)


@deciding
def proposal_accept(request, pk):
    proposal = get_object_or_404(TaxonomyProposal, pk=pk)
    form = forms.ProposalAcceptForm(request.POST, prefix="accept")
    return decide(
        request,
        proposal,
        form,
        lambda data: review.accept_proposal(
            proposal,
            actor=request.user,
            revision=data["revision"],
            key=form.key(),
            name=data["name"],
            description=data["description"],
            comment=data["comment"],
        ),
        page=_proposal_page,
    )


@deciding
def proposal_reject(request, pk):
    proposal = get_object_or_404(TaxonomyProposal, pk=pk)
    form = forms.RejectForm(request.POST, prefix="reject")
    return decide(
        request,
        proposal,
        form,
        lambda data: review.reject_proposal(
            proposal,
            actor=request.user,
            revision=data["revision"],
            reason_code=data["reason_code"],
            comment=data["comment"],
        ),
        page=_proposal_page,
    )


@deciding
def proposal_put_back(request, pk):
    return put_back(request, get_object_or_404(TaxonomyProposal, pk=pk))


def _proposal_page(request, proposal, *, bound=None, status=200):
    proposal = TaxonomyProposal.objects.select_related("parent", "created_skill", "decided_by").get(
        pk=proposal.pk
    )
    revision = {"revision": proposal.revision}
    page_forms = {
        "accept": forms.ProposalAcceptForm(
            initial={
                **revision,
                "parent": proposal.parent.key,
                "leaf": proposal.key.rsplit(".", 1)[-1],
                "name": proposal.name,
                "description": proposal.description,
            },
            prefix="accept",
        ),
        "reject": forms.RejectForm(initial=revision, prefix="reject"),
    }
    page_forms.update(bound or {})
    context = {
        "proposal": proposal,
        "forms": page_forms,
        "evidence": selectors.proposal_evidence(proposal),
        "decisions": proposal.decisions.select_related("actor").order_by("-created_at"),
        **item_context(request, proposal, "proposal"),
    }
    return render(request, "oversight/review/proposal.html", context, status=status)
