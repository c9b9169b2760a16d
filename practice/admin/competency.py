"""The admin for competency estimates and their history, computed from attempts and read-only."""

from django.contrib import admin

from practice.models import CompetencyEstimate, CompetencySnapshot
from taxonomy.admin import ViewOnlyAdmin


@admin.register(CompetencyEstimate)
class CompetencyEstimateAdmin(ViewOnlyAdmin):
    """Computed from attempts by the competency model."""

    list_display = [
        "agent",
        "skill",
        "estimate",
        "uncertainty",
        "attempts",
        "successes",
        "rolled_up",
        "last_attempt_at",
        "next_review_at",
    ]
    list_filter = ["rolled_up", "agent"]
    search_fields = ["agent__name", "skill__key"]
    date_hierarchy = "updated_at"
    list_select_related = ["agent", "skill"]


@admin.register(CompetencySnapshot)
class CompetencySnapshotAdmin(ViewOnlyAdmin):
    list_display = ["agent", "skill", "estimate", "uncertainty", "attempt", "recorded_at"]
    list_filter = ["agent"]
    search_fields = ["agent__name", "skill__key"]
    date_hierarchy = "recorded_at"
    list_select_related = ["agent", "skill", "attempt__agent", "attempt__skill"]
