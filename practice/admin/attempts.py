"""The admin for attempts, their trace steps and the coach's reflections on them.

All three are written by the agent API or the coach and shown read-only.
"""

from django.contrib import admin

from practice.models import Attempt, Reflection, TraceStep
from taxonomy.admin import ViewOnlyAdmin, ViewOnlyTabularInline


class TraceStepInline(ViewOnlyTabularInline):
    model = TraceStep
    fields = ["position", "action", "arguments", "expected", "actual", "ok", "note"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Attempt)
class AttemptAdmin(ViewOnlyAdmin):
    """Attempts come from the agent API."""

    inlines = [TraceStepInline]
    list_display = [
        "id",
        "agent",
        "skill",
        "source",
        "success",
        "score",
        "difficulty",
        "out_of_bounds",
        "created_at",
    ]
    list_filter = ["source", "success", "out_of_bounds", "trace_format", "agent"]
    search_fields = ["id__exact", "external_id", "agent__name", "skill__key", "task_input"]
    date_hierarchy = "created_at"
    list_select_related = ["agent", "skill"]


@admin.register(TraceStep)
class TraceStepAdmin(ViewOnlyAdmin):
    list_display = ["attempt", "position", "action", "ok"]
    list_filter = ["ok"]
    search_fields = ["attempt__id__exact", "action", "note"]
    list_select_related = ["attempt__agent", "attempt__skill"]


@admin.register(Reflection)
class ReflectionAdmin(ViewOnlyAdmin):
    """Written by the coach; kept as it was for audit."""

    list_display = ["id", "status", "coach", "fault_type", "attempt", "created_at"]
    list_filter = ["status", "fault_type", "fault_author", "coach_name"]
    search_fields = [
        "attempt__id__exact",
        "attempt__agent__name",
        "attempt__skill__key",
        "causal_analysis",
        "coach_name",
        "model",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["attempt__agent", "attempt__skill"]

    @admin.display(description="coach", ordering="coach_name")
    def coach(self, reflection):
        return f"{reflection.coach_name} {reflection.coach_version}"
