"""A strategy under review, the decisions on it (accept, edit and accept, reject, resolve a
conflict, retire, put back), and a strategy's history with the restoring of an earlier version.
Permissions and the decision flow are in `common`."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from oversight import selectors
from oversight.services import review
from oversight.views import forms
from oversight.views.common import (
    READ_STRATEGIES,
    claim_on_open,
    decide,
    deciding,
    item_context,
    put_back,
    reading,
    restoring,
)
from practice.models import Strategy

# --- A strategy under review ----------------------------------------------------------------------


@reading(READ_STRATEGIES)
def strategy_item(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    if strategy.status in (Strategy.Status.PROPOSED, Strategy.Status.LIVE):
        claim_on_open(request, strategy)
    return _strategy_page(request, strategy)


@deciding
def strategy_accept(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.DecisionForm(request.POST, prefix="accept")
    return decide(
        request,
        strategy,
        form,
        lambda data: review.accept(
            strategy, actor=request.user, revision=data["revision"], comment=data["comment"]
        ),
        page=_strategy_page,
    )


@deciding
def strategy_edit(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.EditForm(request.POST, prefix="edit")
    return decide(
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
        page=_strategy_page,
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
    return decide(
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
        page=_strategy_page,
    )


@deciding
def strategy_resolve(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.ResolveForm(request.POST, prefix="resolve")
    return decide(
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
        page=_strategy_page,
    )


@deciding
def strategy_retire(request, pk):
    strategy = get_object_or_404(Strategy, pk=pk)
    form = forms.RetireForm(request.POST, prefix="retire")
    return decide(
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
        page=_strategy_page,
    )


@deciding
def strategy_put_back(request, pk):
    return put_back(request, get_object_or_404(Strategy, pk=pk))


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
        **item_context(request, strategy, "strategy"),
    }
    return render(request, "oversight/review/strategy.html", context, status=status)


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
