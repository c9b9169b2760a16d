"""A proposed practice scenario under review (the coach's LLM-written variants): the variant beside
its original, and the decisions on it. Permissions and flow as for taxonomy proposals: every
role may read, reviewers decide; a refused decision shows the scenario as it is now with the
reviewer's input kept."""

from django.shortcuts import get_object_or_404, render

from oversight import selectors
from oversight.services import review
from oversight.views import forms
from oversight.views.common import claim_on_open, decide, deciding, item_context, put_back, reading
from practice.models import PracticeScenario, ScenarioStatus

READ_SCENARIOS = "practice.view_practicescenario"


@reading(READ_SCENARIOS)
def scenario_item(request, pk):
    scenario = get_object_or_404(PracticeScenario, pk=pk)
    if scenario.status == ScenarioStatus.PROPOSED:
        claim_on_open(request, scenario)
    return _scenario_page(request, scenario)


@deciding
def scenario_accept(request, pk):
    scenario = get_object_or_404(PracticeScenario, pk=pk)
    form = forms.DecisionForm(request.POST, prefix="accept")
    return decide(
        request,
        scenario,
        form,
        lambda data: review.accept_scenario(
            scenario, actor=request.user, revision=data["revision"], comment=data["comment"]
        ),
        page=_scenario_page,
    )


@deciding
def scenario_edit(request, pk):
    scenario = get_object_or_404(PracticeScenario, pk=pk)
    form = forms.ScenarioEditForm(request.POST, prefix="edit")
    return decide(
        request,
        scenario,
        form,
        lambda data: review.accept_scenario(
            scenario,
            actor=request.user,
            revision=data["revision"],
            prompt=data["prompt"],
            difficulty=data["difficulty"],
            expected_actions=data["expected_actions"],
            comment=data["comment"],
        ),
        page=_scenario_page,
    )


@deciding
def scenario_edit_preview(request, pk):
    """The htmx answer to typing in the edit form: the prompt as a word diff of the variant's,
    and what is wrong with the difficulty or the expected actions."""
    scenario = get_object_or_404(PracticeScenario, pk=pk)
    form = forms.ScenarioEditForm(request.POST, prefix="edit")
    form.is_valid()
    preview = selectors.word_diff(scenario.prompt, request.POST.get("edit-prompt", ""))
    return render(
        request,
        "oversight/review/scenario.html#edit-preview",
        {
            "preview": preview,
            "changed": selectors.text_changed(preview),
            "preview_errors": [
                f"{form.fields[name].label or name.capitalize()}: {' '.join(form.errors[name])}"
                for name in ("difficulty", "expected_actions")
                if name in form.errors
            ],
        },
    )


@deciding
def scenario_reject(request, pk):
    scenario = get_object_or_404(PracticeScenario, pk=pk)
    form = forms.RejectForm(request.POST, prefix="reject")
    return decide(
        request,
        scenario,
        form,
        lambda data: review.reject_scenario(
            scenario,
            actor=request.user,
            revision=data["revision"],
            reason_code=data["reason_code"],
            comment=data["comment"],
        ),
        page=_scenario_page,
    )


@deciding
def scenario_put_back(request, pk):
    return put_back(request, get_object_or_404(PracticeScenario, pk=pk))


def _scenario_page(request, scenario, *, bound=None, status=200):
    scenario = PracticeScenario.objects.select_related("skill", "variant_of").get(pk=scenario.pk)
    revision = {"revision": scenario.revision}
    page_forms = {
        "accept": forms.DecisionForm(initial=revision, prefix="accept"),
        "edit": forms.ScenarioEditForm(
            initial={
                **revision,
                "prompt": scenario.prompt,
                "difficulty": scenario.difficulty,
                "expected_actions": selectors.expected_actions_text(scenario.expected_actions),
            },
            prefix="edit",
        ),
        "reject": forms.RejectForm(initial=revision, prefix="reject"),
    }
    page_forms.update(bound or {})
    context = {
        "scenario": scenario,
        "original": scenario.variant_of,
        "comparison": selectors.scenario_comparison(scenario),
        "forms": page_forms,
        "decisions": scenario.decisions.select_related("actor").order_by("-created_at"),
        # A refused edit on an item that left review: show the typed text so nothing is lost.
        "kept_edit": page_forms["edit"]
        if page_forms["edit"].is_bound and scenario.status != ScenarioStatus.PROPOSED
        else None,
        **item_context(request, scenario, "scenario"),
    }
    return render(request, "oversight/review/scenario.html", context, status=status)
