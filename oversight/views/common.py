"""What every review page shares: the role checks (reading needs the view permission, which all
roles have; deciding needs the reviewer's; restoring the reviewer's or the operator's), claiming
an item on opening it, the claim and queue neighbours shown beside it, and the decision flow: a
refused decision re-renders the item as it is now, with the reviewer's input kept in its form,
and a decision taken goes on to the next item of the queue as the reviewer filtered it."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from oversight import selectors
from oversight.services import review
from oversight.views import forms
from practice.models import PracticeScenario, Strategy

READ_STRATEGIES = "practice.view_strategy"
QUEUE_PARAMETERS = tuple(forms.QueueFilterForm.base_fields)


# --- Who may do what -----------------------------------------------------------------------------


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


# --- Shared steps --------------------------------------------------------------------------------


def claim_on_open(request, item):
    """Opening an item claims it for a reviewer; someone else's claim is shown, not taken."""
    if not request.user.has_perm(review.REVIEW_PERMISSION):
        return
    try:
        review.claim_item(item, actor=request.user)
    except review.ClaimedByOther:
        pass


def item_context(request, item, kind):
    """What every item page shows beside the item: its claim, whether this user may decide,
    the queue items before and after it, and the queue's figures."""
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
        "queue_query": queue_query(request),
        "stats": selectors.queue_stats(),
    }


def decide(request, item, form, decision, *, page):
    """Validate the form, run the decision, then go on to the next queue item; a refusal shows
    the item as it is now with the reviewer's input kept (by `page`, the item's page view)."""
    name = form.prefix
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
    return redirect(queue_url(request))


def put_back(request, item):
    """Release the reviewer's claim on the item and return to the queue."""
    try:
        released = review.release_claim(item, actor=request.user)
    except review.ReviewError as error:
        messages.error(request, str(error))
        return redirect(_item_url(_kind(item), item.pk, request))
    if released:
        messages.success(request, f"{_label(item)} is back in the queue for others.")
    return redirect(queue_url(request))


def queue_query(request):
    """The queue's filters from the request, as a query string to carry from page to page."""
    return urlencode(
        [(name, value) for name in QUEUE_PARAMETERS for value in request.GET.getlist(name) if value]
    )


def queue_url(request):
    query = queue_query(request)
    return reverse("oversight:review-queue") + (f"?{query}" if query else "")


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


def _item_url(kind, pk, request):
    query = queue_query(request)
    return reverse(selectors.REVIEW_PAGES[kind], args=[pk]) + (f"?{query}" if query else "")


def _kind(item):
    if isinstance(item, Strategy):
        return "strategy"
    return "scenario" if isinstance(item, PracticeScenario) else "proposal"


def _label(item):
    return f"{_kind(item).capitalize()} #{item.pk}"
