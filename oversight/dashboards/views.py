"""Dashboard pages. Every view checks the role on the server: reading needs the view permission
all roles have (reviewers, operators, auditors); changing boundaries and keys needs the
operator's permission. Anonymous users are sent to sign in."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.gzip import gzip_page
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from oversight.dashboards import charts, forms, progress, selectors, timeline
from practice.models import Agent, AgentKey, Attempt
from practice.services import agents as agent_services
from practice.services.competency import competency_profile
from practice.services.errors import PracticeError
from taxonomy.models import Skill

READ_PERMISSION = "practice.view_competencyestimate"
OPERATE_PERMISSION = "oversight.operate"
VIEW_KEYS_PERMISSION = "practice.view_agentkey"


def reading(view):
    """Signed-in users of any role may GET the page; others get 403 (anonymous: sign in)."""
    return login_required(
        permission_required(READ_PERMISSION, raise_exception=True)(require_GET(view))
    )


def operating(view):
    """Signed-in operators may POST; every other role gets 403 (anonymous: sign in)."""
    return login_required(
        permission_required(OPERATE_PERMISSION, raise_exception=True)(require_POST(view))
    )


@reading
def overview(request):
    return render(request, "oversight/dashboards/overview.html", selectors.overview(timezone.now()))


@reading
@gzip_page  # the chart JSON of a large grid shrinks to about a third on the wire
@vary_on_headers("HX-Request")
def heatmap(request):
    form = forms.HeatmapFilterForm(request.GET, depth=selectors.taxonomy_depth())
    level, subtree, agent_ids = form.filters()
    grid = selectors.heatmap_grid(
        level=level, now=timezone.now(), subtree=subtree, agent_ids=agent_ids
    )
    payload = charts.heatmap_payload(grid) if grid.agents and grid.skills else None
    context = {"form": form, "grid": grid, "payload": charts.embed(payload) if payload else None}
    template = "oversight/dashboards/heatmap.html"
    return render(request, f"{template}#chart" if request.htmx else template, context)


@reading
@vary_on_headers("HX-Request")
def drilldown(request, name, key):
    agent = get_object_or_404(Agent, name=name)
    skill = get_object_or_404(Skill, key=key)
    view = progress.drilldown(agent, skill, timezone.now())
    curve = charts.learning_curve(view.curve, view.strategies) if view.curve else None
    context = {"view": view, "curve": charts.embed(curve) if curve else None}
    template = "oversight/dashboards/drilldown.html"
    return render(request, f"{template}#drilldown" if request.htmx else template, context)


@reading
def skill(request, key):
    skill = get_object_or_404(Skill, key=key)
    page = selectors.skill_page(skill)
    treemap = charts.taxonomy_treemap(page["nodes"]) if page["nodes"] else None
    strategies = [
        (strategy, selectors.effectiveness(strategy)) for strategy in page.pop("strategies")
    ]
    return render(
        request,
        "oversight/dashboards/skill.html",
        {
            "skill": skill,
            "treemap": charts.embed(treemap) if treemap else None,
            "strategies": strategies,
            **page,
        },
    )


@reading
def agent(request, name):
    return _agent_page(request, get_object_or_404(Agent, name=name))


@operating
def agent_boundaries(request, name):
    agent = get_object_or_404(Agent, name=name)
    form = forms.BoundariesForm(request.POST)
    if form.is_valid():
        try:
            agent_services.set_boundaries(
                agent,
                form.cleaned_data["skills"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except PracticeError as error:
            form.add_error("skills", str(error))
        else:
            messages.success(request, f"The boundaries of {agent.name} were saved.")
            return redirect("dash:agent", name=agent.name)
    return _agent_page(request, agent, boundaries_form=form, status=400)


@operating
@never_cache
def agent_key_create(request, name):
    agent = get_object_or_404(Agent, name=name)
    form = forms.KeyForm(request.POST)
    if form.is_valid():
        try:
            issued = agent_services.issue_key(
                agent,
                label=form.cleaned_data["label"],
                expires_at=form.cleaned_data["expires_at"],
                actor=request.user,
            )
        except PracticeError as error:
            form.add_error("expires_at", str(error))
        else:
            # The only time the key text exists outside the agent: this response, never cached.
            return _agent_page(request, agent, issued=issued)
    return _agent_page(request, agent, key_form=form, status=400)


@operating
def agent_key_revoke(request, name, prefix):
    key = get_object_or_404(
        AgentKey.objects.select_related("agent"), agent__name=name, prefix=prefix
    )
    form = forms.RevokeForm(request.POST)
    form.is_valid()
    try:
        agent_services.revoke_key(
            key, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except PracticeError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"Key {key.prefix}… of {key.agent.name} was revoked.")
    return redirect("dash:agent", name=name)


@reading
def attempt(request, pk):
    attempt = get_object_or_404(Attempt.objects.select_related("agent", "skill", "scenario"), pk=pk)
    return render(
        request,
        "oversight/dashboards/attempt.html",
        {"attempt": attempt, "trace": timeline.attempt_trace(attempt)},
    )


def _agent_page(request, agent, *, boundaries_form=None, key_form=None, issued=None, status=200):
    can_operate = request.user.has_perm(OPERATE_PERMISSION)
    can_view_keys = request.user.has_perm(VIEW_KEYS_PERMISSION)
    boundary_keys = list(agent.boundaries.order_by("key").values_list("key", flat=True))
    context = {
        "agent": agent,
        "profile": competency_profile(agent, timezone.now()),
        "boundary_keys": boundary_keys,
        "queue": selectors.practice_queue(agent),
        "can_operate": can_operate,
        "keys": selectors.agent_keys(agent) if can_view_keys else None,
        "issued": issued,
    }
    if can_operate:
        context["boundaries_form"] = boundaries_form or forms.BoundariesForm(
            initial={"skills": boundary_keys}
        )
        context["key_form"] = key_form or forms.KeyForm()
    return render(request, "oversight/dashboards/agent.html", context, status=status)
