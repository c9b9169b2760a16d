"""The review pages: the queue, a strategy or taxonomy proposal under review, and a strategy's
history (a scenario variant's page is in `scenarios`, built on the shared steps at the end). Every
view checks the role on the server: reading needs the view permission (all roles have it),
deciding needs the reviewer's, restoring the reviewer's or the operator's. A refused decision
re-renders the item as it is now, with the reviewer's input kept in its form."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from oversight import selectors
from oversight.services import review
from oversight.views import forms
from practice.models import PracticeScenario, Strategy
from taxonomy.models import TaxonomyProposal

READ_STRATEGIES = "practice.view_strategy"
READ_PROPOSALS = "taxonomy.view_taxonomyproposal"
QUEUE_PARAMETERS = tuple(forms.QueueFilterForm.base_fields)


def reading(permission):
    """Signed-in users with `permission` may GET the page; others get 403 (anonymous: sign in)."""

    def decorate(view):
        return login_required(
            permission_required(permission, raise_exception=True)(require_GET(view))
        )

    return decorate


def deciding(view):
    """Signed-in reviewers may POST; every other role gets 403 (anonymous: sign in)."""
    return login_required(
        permission_required(review.REVIEW_PERMISSION, raise_exception=True)(require_POST(view))
    )


def restoring(view):
    """Reviewers and operators may restore versions; every other role gets 403."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        user = request.user
        if not (
            user.has_perm(review.REVIEW_PERMISSION) or user.has_perm(review.OPERATE_PERMISSION)
        ):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return login_required(require_POST(checked))


# --- The queue -----------------------------------------------------------------------------------


@reading(READ_STRATEGIES)
@vary_on_headers("HX-Request")
def queue(request):
    form = forms.QueueFilterForm(request.GET or None)
    items = selectors.review_queue(form.filters())
    context = {
        "form": form,
        "items": items,
        "stats": selectors.queue_stats(),
        "queue_query": _queue_query(request),
        "bulk_form": forms.BulkForm(),
        "skill_keys": selectors.skill_keys(),
        "can_decide": request.user.has_perm(review.REVIEW_PERMISSION),
    }
    if request.htmx:
        return render(request, "oversight/review/queue.html#queue-results", context)
    return render(request, "oversight/review/queue.html", context)


@deciding
def bulk(request):
    form = forms.BulkForm(request.POST)
    back = _queue_url(request)
    if not form.is_valid():
        messages.error(request, "Select at least one item and a decision.")
        return redirect(back)
    data = form.cleaned_data
    try:
        results = review.bulk_decide(
            data["items"],
            actor=request.user,
            decision=data["decision"],
            reason_code=data["reason_code"],
            comment=data["comment"],
        )
    except review.ReviewError as error:
        messages.error(request, str(error))
        return redirect(back)
    for result in results:
        report = messages.success if result.done else messages.error
        report(request, f"{result.label}: {result.message}")
    return redirect(back)


# --- A strategy under review ------------------------------------------------------------------


@reading(READ_STRATEGIES)
def strategy_item(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    if strategy.status in (Strategy.Status.PROPOSED, Strategy.Status.LIVE):
        _claim(request, strategy)
    return _strategy_page(request, strategy)


@deciding
def strategy_accept(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.DecisionForm(request.POST, prefix="accept")
    return _decide(
        request,
        strategy,
        form,
        lambda data: review.accept(
            strategy, actor=request.user, revision=data["revision"], comment=data["comment"]
        ),
    )


@deciding
def strategy_edit(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.EditForm(request.POST, prefix="edit")
    return _decide(
        request,
        strategy,
        form,
        lambda data: review.edit_and_accept(
            strategy,
            actor=request.user,
            revision=data["revision"],
            when=data["when"],
            do=data["do"],
            because=data["because"],
            comment=data["comment"],
        ),
    )


@deciding
def strategy_edit_preview(request, pk):
    """The htmx answer to typing in the edit form: the edit as a word diff of the current text."""
    strategy = get_object_or_404(Strategy.objects.select_related("current_version"), pk=pk)
    version = strategy.current_version
    preview = [
        (label, selectors.word_diff(getattr(version, name), request.POST.get(f"edit-{label}", "")))
        for label, name in selectors.FIELDS
    ]
    return render(
        request,
        "oversight/review/strategy.html#edit-preview",
        {"preview": preview, "changed": any(selectors.text_changed(diff) for _, diff in preview)},
    )


@deciding
def strategy_reject(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.RejectForm(request.POST, prefix="reject")
    return _decide(
        request,
        strategy,
        form,
        lambda data: review.reject(
            strategy,
            actor=request.user,
            revision=data["revision"],
            reason_code=data["reason_code"],
            comment=data["comment"],
        ),
    )


@deciding
def strategy_resolve(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.ResolveForm(request.POST, prefix="resolve")
    return _decide(
        request,
        strategy,
        form,
        lambda data: review.resolve_conflict(
            strategy,
            actor=request.user,
            revision=data["revision"],
            resolution=data["resolution"],
            comment=data["comment"],
        ),
    )


@deciding
def strategy_retire(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.RetireForm(request.POST, prefix="retire")
    return _decide(
        request,
        strategy,
        form,
        lambda data: review.retire(
            strategy,
            actor=request.user,
            revision=data["revision"],
            reason_code=data["reason_code"],
            comment=data["comment"],
        ),
    )


@deciding
def strategy_put_back(request, pk):
    return _put_back(request, get_object_or_404(Strategy, pk=pk))


def _strategy_page(request, strategy, *, bound=None, status=200):
    strategy = Strategy.objects.select_related(
        "skill", "current_version__created_by", "conflicts_with__current_version"
    ).get(pk=strategy.pk)
    version = strategy.current_version
    revision = {"revision": strategy.revision}
    page_forms = {
        "accept": forms.DecisionForm(initial=revision, prefix="accept"),
        "edit": forms.EditForm(
            initial={
                **revision,
                "when": version.when_text,
                "do": version.do_text,
                "because": version.because_text,
            },
            prefix="edit",
        ),
        "reject": forms.RejectForm(initial=revision, prefix="reject"),
        "resolve": forms.ResolveForm(
            initial={**revision, "resolution": "replace"}, prefix="resolve"
        ),
        "retire": forms.RetireForm(initial=revision, prefix="retire"),
    }
    page_forms.update(bound or {})
    approvers = review.approvers(strategy) if strategy.skill.sensitive else set()
    users = get_user_model()
    context = {
        "strategy": strategy,
        "version": version,
        "forms": page_forms,
        "evidence": selectors.strategy_evidence(strategy),
        "related": selectors.related_live_strategies(strategy),
        "approvers": sorted(
            users.objects.filter(pk__in=approvers).values_list(users.USERNAME_FIELD, flat=True)
        ),
        "approved_by_me": request.user.pk in approvers,
        # A refused edit on an item that left review: show the typed text so nothing is lost.
        "kept_edit": page_forms["edit"]
        if page_forms["edit"].is_bound and strategy.status != Strategy.Status.PROPOSED
        else None,
        **_item_context(request, strategy, "strategy"),
    }
    return render(request, "oversight/review/strategy.html", context, status=status)


# --- A taxonomy proposal under review -------------------------------------------------------------


@reading(READ_PROPOSALS)
def proposal_item(request, pk):
    proposal = get_object_or_404(TaxonomyProposal, pk=pk)
    if proposal.status == TaxonomyProposal.Status.PROPOSED:
        _claim(request, proposal)
    return _proposal_page(request, proposal)


@deciding
def proposal_accept(request, pk):
    proposal = get_object_or_404(TaxonomyProposal, pk=pk)
    form = forms.ProposalAcceptForm(request.POST, prefix="accept")
    return _decide(
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
    )


@deciding
def proposal_reject(request, pk):
    proposal = get_object_or_404(TaxonomyProposal, pk=pk)
    form = forms.RejectForm(request.POST, prefix="reject")
    return _decide(
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
    )


@deciding
def proposal_put_back(request, pk):
    return _put_back(request, get_object_or_404(TaxonomyProposal, pk=pk))


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
        **_item_context(request, proposal, "proposal"),
    }
    return render(request, "oversight/review/proposal.html", context, status=status)


# --- History -------------------------------------------------------------------------------------


@reading(READ_STRATEGIES)
def strategy_history(request, pk):
    strategy = get_object_or_404(Strategy.objects.select_related("skill", "current_version"), pk=pk)
    user = request.user
    context = {
        "strategy": strategy,
        **selectors.strategy_history(strategy),
        "can_restore": user.has_perm(review.REVIEW_PERMISSION)
        or user.has_perm(review.OPERATE_PERMISSION),
        "restore_form": forms.DecisionForm(
            initial={"revision": strategy.revision}, prefix="restore"
        ),
    }
    return render(request, "oversight/review/history.html", context)


@restoring
def strategy_restore(request, pk, number):
    strategy = get_object_or_404(Strategy, pk=pk)
    version = get_object_or_404(strategy.versions, number=number)
    form = forms.DecisionForm(request.POST, prefix="restore")
    history = reverse("oversight:strategy-history", args=[strategy.pk])
    if not form.is_valid():
        messages.error(request, "The restore form was incomplete; try again.")
        return redirect(history)
    try:
        outcome = review.restore_version(
            strategy,
            version,
            actor=request.user,
            revision=form.cleaned_data["revision"],
            comment=form.cleaned_data["comment"],
        )
    except review.ReviewError as error:
        messages.error(request, str(error))
        return redirect(history)
    messages.success(request, outcome.message)
    return redirect(history)


# --- Shared steps --------------------------------------------------------------------------------


def _claim(request, item):
    """Opening an item claims it for a reviewer; someone else's claim is shown, not taken."""
    if not request.user.has_perm(review.REVIEW_PERMISSION):
        return
    try:
        review.claim_item(item, actor=request.user)
    except review.ClaimedByOther:
        pass


def _item_context(request, item, kind):
    claim = review.active_claim(item)
    held_by_other = claim is not None and claim.holder_id != request.user.pk
    items = selectors.review_queue(_filters(request))
    previous, following = selectors.neighbours(items, kind, item.pk)
    return {
        "claim": claim,
        "held_by_other": held_by_other,
        "can_decide": request.user.has_perm(review.REVIEW_PERMISSION) and not held_by_other,
        "previous_item": previous,
        "next_item": following,
        "queue_query": _queue_query(request),
        "stats": selectors.queue_stats(),
    }


def _decide(request, item, form, decision, *, page=None):
    """Validate the form, run the decision, then go on to the next queue item; a refusal shows
    the item as it is now with the reviewer's input kept (by `page`, default: by its kind)."""
    name = form.prefix
    page = page or _item_page
    if not form.is_valid():
        messages.error(request, "The decision is incomplete: " + _form_errors(form))
        return page(request, item, bound={name: form}, status=400)
    _, following = selectors.neighbours(
        selectors.review_queue(_filters(request)), _kind(item), item.pk
    )
    try:
        outcome = decision(form.cleaned_data)
    except review.ReviewError as error:
        messages.error(request, str(error))
        item.refresh_from_db()
        return page(request, item, bound={name: _at_revision(form, item.revision)}, status=409)
    messages.success(request, outcome.message)
    if following is not None and (following.kind, following.pk) != (_kind(item), item.pk):
        return redirect(_item_url(following.kind, following.pk, request))
    return redirect(_queue_url(request))


def _put_back(request, item):
    try:
        released = review.release_claim(item, actor=request.user)
    except review.ReviewError as error:
        messages.error(request, str(error))
        return redirect(_item_url(_kind(item), item.pk, request))
    if released:
        messages.success(request, f"{_label(item)} is back in the queue for others.")
    return redirect(_queue_url(request))


def _item_page(request, item, bound, status):
    if isinstance(item, Strategy):
        return _strategy_page(request, item, bound=bound, status=status)
    return _proposal_page(request, item, bound=bound, status=status)


def _at_revision(form, revision):
    """The same bound form, now at the item's current revision: the reviewer has seen it."""
    data = form.data.copy()
    data[form.add_prefix("revision")] = revision
    return type(form)(data, prefix=form.prefix)


def _form_errors(form):
    return "; ".join(
        f"{form.fields[name].label or name if name in form.fields else 'form'}: {' '.join(errors)}"
        for name, errors in form.errors.items()
    )


def _filters(request):
    return forms.QueueFilterForm(request.GET or None).filters()


def _queue_query(request):
    return urlencode(
        [(name, value) for name in QUEUE_PARAMETERS for value in request.GET.getlist(name) if value]
    )


def _queue_url(request):
    query = _queue_query(request)
    return reverse("oversight:review-queue") + (f"?{query}" if query else "")


def _item_url(kind, pk, request):
    query = _queue_query(request)
    return reverse(selectors.REVIEW_PAGES[kind], args=[pk]) + (f"?{query}" if query else "")


def _kind(item):
    if isinstance(item, Strategy):
        return "strategy"
    return "scenario" if isinstance(item, PracticeScenario) else "proposal"


def _label(item):
    return f"{_kind(item).capitalize()} #{item.pk}"
