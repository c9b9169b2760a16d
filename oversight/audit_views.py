"""The auditor's pages: the change history, one event as a diff, exports and verification."""

import difflib
import json
import time
from dataclasses import dataclass
from itertools import zip_longest

from django import forms
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Max
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.http import require_POST

from oversight.models import AuditEvent
from oversight.services.audit import chain_head
from oversight.services.audit_export import CONTENT_TYPES, export_chunks
from oversight.services.audit_verify import verify_chain
from practice.models import Agent, AgentKey, PracticeScenario
from taxonomy.models import Skill, TaxonomyProposal

EVENTS_PER_PAGE = 50

can_read = permission_required("oversight.view_auditevent", raise_exception=True)
can_export = permission_required("oversight.export_audit", raise_exception=True)


class AuditFilterForm(forms.Form):
    since = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    until = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    actor = forms.CharField(
        required=False, help_text="A user name, agent:<name> or system; part of it is enough."
    )
    action = forms.ChoiceField(required=False)
    object_type = forms.ChoiceField(required=False, label="Object type")
    object_id = forms.CharField(required=False, label="Object id")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = _choices("action")
        self.fields["object_type"].choices = _choices("object_type")

    def events(self):
        """The events the valid part of the filter selects (an invalid field filters nothing)."""
        events = AuditEvent.objects.all()
        if not self.is_bound:
            return events
        self.is_valid()
        criteria = self.cleaned_data
        if criteria.get("since"):
            events = events.filter(created_at__gte=criteria["since"])
        if criteria.get("until"):
            events = events.filter(created_at__lte=criteria["until"])
        if criteria.get("actor"):
            events = events.filter(actor_label__icontains=criteria["actor"].strip())
        for name in ("action", "object_type", "object_id"):
            if criteria.get(name):
                events = events.filter(**{name: criteria[name].strip()})
        return events

    @property
    def filtered(self):
        return self.is_bound and any(self.cleaned_data.get(name) for name in self.fields)


def _choices(field):
    values = AuditEvent.objects.order_by(field).values_list(field, flat=True).distinct()
    return [("", "any")] + [(value, value) for value in values]


def _filter_query(request):
    """The request's filter as a query string, without the page number."""
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@login_required
@can_read
def events(request):
    form = AuditFilterForm(request.GET or None)
    page = Paginator(form.events().order_by("-sequence"), EVENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "oversight/audit/events.html",
        {
            "form": form,
            "page": page,
            "query": _filter_query(request),
            "can_export": request.user.has_perm("oversight.export_audit"),
        },
    )


@login_required
@can_read
@can_export
def export(request, export_format):
    """What the filter shows, streamed in chain order; ends at the newest event when it began."""
    if export_format not in CONTENT_TYPES:
        raise Http404(f"No {export_format} export: choose jsonl or csv.")
    form = AuditFilterForm(request.GET or None)
    newest = AuditEvent.objects.aggregate(newest=Max("sequence"))["newest"] or 0
    selected = form.events().filter(sequence__lte=newest)
    name = f"etude-audit-to-{newest}{'-filtered' if form.filtered else ''}.{export_format}"
    response = StreamingHttpResponse(
        export_chunks(selected, export_format), content_type=CONTENT_TYPES[export_format]
    )
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Audit-Events"] = str(selected.count())
    response["Cache-Control"] = "no-store"
    return response


@login_required
@can_read
@can_export
@require_POST
def verify(request):
    started = time.monotonic()
    count, broken = verify_chain()
    verification = {
        "count": count,
        "broken": broken,
        "head": None if broken else chain_head(),
        "seconds": time.monotonic() - started,
    }
    if request.htmx:
        return render(
            request, "oversight/audit/events.html#verification", {"verification": verification}
        )
    return render(request, "oversight/audit/verify.html", {"verification": verification})


@login_required
@can_read
def event(request, sequence):
    audit_event = get_object_or_404(
        AuditEvent.objects.select_related("actor_user", "actor_agent"), sequence=sequence
    )
    neighbours = AuditEvent.objects.filter(sequence__in=[sequence - 1, sequence + 1])
    return render(
        request,
        "oversight/audit/event.html",
        {
            "event": audit_event,
            "diff": json_diff(audit_event.before, audit_event.after),
            "object_url": object_url(audit_event),
            "neighbours": set(neighbours.values_list("sequence", flat=True)),
            "history_query": f"object_type={audit_event.object_type}"
            f"&object_id={audit_event.object_id}",
        },
    )


# --- Presenting one event ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DiffRow:
    """One line of a side-by-side diff; `change` is equal, delete, insert or replace."""

    change: str
    before_number: int | None
    before: str
    after_number: int | None
    after: str


def json_diff(before, after):
    """Side-by-side rows comparing before and after as pretty-printed JSON."""
    old, new = _pretty_lines(before), _pretty_lines(after)
    rows = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for change, i1, i2, j1, j2 in matcher.get_opcodes():
        pairs = zip_longest(range(i1, i2), range(j1, j2))
        for old_index, new_index in pairs:
            rows.append(
                DiffRow(
                    change if old_index is not None and new_index is not None else _side(old_index),
                    None if old_index is None else old_index + 1,
                    "" if old_index is None else old[old_index],
                    None if new_index is None else new_index + 1,
                    "" if new_index is None else new[new_index],
                )
            )
    return rows


def _side(old_index):
    return "insert" if old_index is None else "delete"


def _pretty_lines(value):
    if value is None:
        return []
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def object_url(audit_event):
    """A page showing the event's object, or None when there is none (or it is gone)."""
    object_type, object_id = audit_event.object_type, audit_event.object_id
    if object_type == "strategy" and object_id.isdigit():
        return _reverse("oversight:strategy-history", object_id) or _reverse(
            "admin:practice_strategy_change", object_id
        )
    if object_type == "scenario" and object_id.isdigit():
        # A scenario's review page shows it in any status, beside its original for a variant.
        if PracticeScenario.objects.filter(pk=int(object_id)).exists():
            return _reverse("oversight:scenario-review", object_id)
        return None
    if object_type == "memory_release" and object_id.isdigit():
        number = int(object_id)
        if number > 1:
            return _reverse("releases:diff", number - 1, number)
        return _reverse("releases:list")
    lookups = {
        "skill": (Skill, "key", "admin:taxonomy_skill_change"),
        "agent": (Agent, "name", "admin:practice_agent_change"),
        "agent_key": (AgentKey, "prefix", "admin:practice_agentkey_change"),
        "taxonomy_proposal": (TaxonomyProposal, "pk", "admin:taxonomy_taxonomyproposal_change"),
    }
    if object_type not in lookups:
        return None
    model, field, url_name = lookups[object_type]
    if field == "pk" and not object_id.isdigit():
        return None
    pk = model.objects.filter(**{field: object_id}).values_list("pk", flat=True).first()
    return _reverse(url_name, pk) if pk is not None else None


def _reverse(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None
