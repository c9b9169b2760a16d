"""The admin for practice scenarios and the assignments that schedule them for agents.

Unlike the rest of the practice admin these are plain, editable model admins.
"""

from django.contrib import admin

from practice.admin.common import excerpt
from practice.models import PracticeAssignment, PracticeScenario


@admin.register(PracticeScenario)
class PracticeScenarioAdmin(admin.ModelAdmin):
    list_display = ["id", "skill", "key", "difficulty", "origin", "status", "prompt_excerpt"]
    list_filter = ["status", "origin"]
    search_fields = ["key", "prompt", "skill__key"]
    date_hierarchy = "created_at"
    list_select_related = ["skill"]
    autocomplete_fields = ["skill"]
    raw_id_fields = ["source_attempt", "variant_of"]

    @admin.display(description="prompt")
    def prompt_excerpt(self, scenario):
        return excerpt(scenario.prompt)


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
