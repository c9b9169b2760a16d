"""The review queue, filtered in place with htmx, and bulk decisions on the items selected in it.
A strategy, a taxonomy proposal or a scenario variant under review has its own page in
`strategies`, `proposals` or `scenarios`; the steps they share are in `common`."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.vary import vary_on_headers

from oversight import selectors
from oversight.services import review
from oversight.views import forms
from oversight.views.common import READ_STRATEGIES, deciding, queue_query, queue_url, reading


@reading(READ_STRATEGIES)
@vary_on_headers("HX-Request")
def queue(request):
    form = forms.QueueFilterForm(request.GET or None)
    items = selectors.review_queue(form.filters())
    context = {
        "form": form,
        "items": items,
        "stats": selectors.queue_stats(),
        "queue_query": queue_query(request),
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
    back = queue_url(request)
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
