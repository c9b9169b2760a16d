"""The admin for practice scenarios and the assignments that schedule them for agents.

Unlike the rest of the practice admin these are plain, editable model admins, with two
exceptions: a variant the LLM coach proposed is decided in the review queue, so its status is
read-only here; and the action "Ask the LLM coach for a variant" goes through the scenario
service, after a page that asks for the difficulty.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.http import HttpResponse
from django.template import engines

from practice.admin.common import excerpt
from practice.models import PracticeAssignment, PracticeScenario, ScenarioOrigin, ScenarioStatus
from practice.services.errors import PracticeError
from practice.services.scenarios import (
    MIN_DIFFICULTY_CHANGE,
    NO_LLM_COACH,
    llm_coach_configured,
    request_variant,
)

# The intermediate page of the variant action, in the admin's own layout.
VARIANT_PAGE = """\
{% extends "admin/base_site.html" %}{% load admin_urls %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">Home</a> &rsaquo;
<a href="{% url 'admin:app_list' app_label=opts.app_label %}">{{ opts.app_config.verbose_name }}</a>
&rsaquo; <a href="{% url opts|admin_urlname:'changelist' %}">{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<p>The LLM coach writes one variant of each scenario below at the difficulty you give. Each
arrives as a proposed scenario in the review queue; agents get it only once a reviewer accepts
it.</p>
<ul>{% for scenario in scenarios %}<li>{{ scenario }}</li>{% endfor %}</ul>
<form method="post">{% csrf_token %}
{{ form.as_p }}
{% for scenario in scenarios %}
<input type="hidden" name="{{ checkbox_name }}" value="{{ scenario.pk }}">{% endfor %}
<input type="hidden" name="action" value="{{ action }}">
<input type="submit" name="apply" value="Ask for the variants">
<a href="{% url opts|admin_urlname:'changelist' %}" class="button cancel-link">Cancel</a>
</form>
{% endblock %}
"""


class VariantRequestForm(forms.Form):
    difficulty = forms.FloatField(
        min_value=0,
        max_value=1,
        help_text=(
            "From 0 (easiest) to 1 (hardest), at least "
            f"{MIN_DIFFICULTY_CHANGE:.2f} away from each scenario's own."
        ),
    )


@admin.register(PracticeScenario)
class PracticeScenarioAdmin(admin.ModelAdmin):
    list_display = ["id", "skill", "key", "difficulty", "origin", "status", "prompt_excerpt"]
    list_filter = ["status", "origin"]
    search_fields = ["key", "prompt", "skill__key"]
    date_hierarchy = "created_at"
    list_select_related = ["skill"]
    autocomplete_fields = ["skill"]
    raw_id_fields = ["source_attempt", "variant_of"]
    actions = ["ask_for_variant"]

    @admin.display(description="prompt")
    def prompt_excerpt(self, scenario):
        return excerpt(scenario.prompt)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if (
            obj is not None
            and obj.origin == ScenarioOrigin.VARIANT
            and obj.status == ScenarioStatus.PROPOSED
        ):
            readonly.append("status")
        return readonly

    @admin.action(description="Ask the LLM coach for a variant", permissions=["change"])
    def ask_for_variant(self, request, queryset):
        if not llm_coach_configured():
            self.message_user(request, NO_LLM_COACH, messages.ERROR)
            return None
        scenarios = list(queryset.select_related("skill"))
        form = VariantRequestForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return self._variant_page(request, scenarios, form)
        asked = 0
        for scenario in scenarios:
            try:
                request_variant(
                    scenario, form.cleaned_data["difficulty"], requested_by=request.user
                )
            except PracticeError as refusal:
                self.message_user(request, str(refusal), messages.WARNING)
            else:
                asked += 1
        if asked:
            self.message_user(
                request,
                f"Asked the LLM coach for {asked} variant(s); they will appear as proposed "
                "scenarios in the review queue.",
                messages.SUCCESS,
            )
        return None

    def _variant_page(self, request, scenarios, form):
        context = {
            **self.admin_site.each_context(request),
            "title": "Ask the LLM coach for a variant",
            "opts": self.model._meta,
            "scenarios": scenarios,
            "form": form,
            "checkbox_name": ACTION_CHECKBOX_NAME,
            "action": "ask_for_variant",
        }
        page = engines["django"].from_string(VARIANT_PAGE)
        return HttpResponse(page.render(context, request))


@admin.register(PracticeAssignment)
class PracticeAssignmentAdmin(admin.ModelAdmin):
    list_display = [
        "agent",
        "scenario",
        "status",
        "reason",
        "priority",
        "target_difficulty",
        "predicted_success",
        "scheduled_at",
        "claimed_at",
        "completed_at",
    ]
    list_filter = ["status", "reason", "agent"]
    search_fields = ["agent__name", "scenario__key", "scenario__skill__key"]
    date_hierarchy = "scheduled_at"
    list_select_related = ["agent", "scenario__skill"]
    autocomplete_fields = ["agent", "scenario"]
    raw_id_fields = ["attempt"]
