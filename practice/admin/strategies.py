"""The admin for strategies and memory releases, all read-only.

Strategies (with their versions, evidence, uses and feedback) change only in the review queue;
releases are published and rolled back on the oversight pages, both through the services.
"""

from django.contrib import admin
from django.db.models import Count, Exists, OuterRef

from practice.admin.common import excerpt
from practice.models import (
    CurrentRelease,
    MemoryRelease,
    MemoryReleaseEntry,
    Strategy,
    StrategyEvidence,
    StrategyFeedback,
    StrategyUse,
    StrategyVersion,
)
from taxonomy.admin import ViewOnlyAdmin, ViewOnlyTabularInline


class StrategyVersionInline(ViewOnlyTabularInline):
    model = StrategyVersion
    fields = [
        "number",
        "when_text",
        "do_text",
        "because_text",
        "source",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields


class StrategyEvidenceInline(ViewOnlyTabularInline):
    model = StrategyEvidence
    fields = ["attempt", "reflection", "created_at"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Strategy)
class StrategyAdmin(ViewOnlyAdmin):
    """Changed only in the review queue (decisions and versions are audited there)."""

    inlines = [StrategyVersionInline, StrategyEvidenceInline]
    list_display = [
        "id",
        "skill",
        "when",
        "status",
        "origin",
        "support_count",
        "use_count",
        "helpful_count",
        "harmful_count",
        "created_at",
    ]
    list_filter = ["status", "origin"]
    search_fields = [
        "id__exact",
        "skill__key",
        "current_version__when_text",
        "current_version__do_text",
    ]
    date_hierarchy = "created_at"
    list_select_related = ["skill", "current_version"]

    @admin.display(description="when")
    def when(self, strategy):
        version = strategy.current_version
        return excerpt(version.when_text) if version else "—"


@admin.register(StrategyVersion)
class StrategyVersionAdmin(ViewOnlyAdmin):
    list_display = ["strategy", "number", "when", "source", "created_by", "created_at"]
    list_filter = ["source"]
    search_fields = ["strategy__id__exact", "when_text", "do_text", "because_text"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by"]

    @admin.display(description="when")
    def when(self, version):
        return excerpt(version.when_text)


@admin.register(StrategyEvidence)
class StrategyEvidenceAdmin(ViewOnlyAdmin):
    list_display = ["strategy", "attempt", "reflection", "created_at"]
    search_fields = ["strategy__id__exact", "attempt__id__exact"]
    date_hierarchy = "created_at"
    list_select_related = ["strategy__current_version", "attempt__agent", "attempt__skill"]


@admin.register(StrategyUse)
class StrategyUseAdmin(ViewOnlyAdmin):
    list_display = ["attempt", "strategy_version"]
    search_fields = ["attempt__id__exact", "strategy_version__strategy__id__exact"]
    list_select_related = ["attempt__agent", "attempt__skill", "strategy_version"]


@admin.register(StrategyFeedback)
class StrategyFeedbackAdmin(ViewOnlyAdmin):
    list_display = ["strategy", "agent", "verdict", "attempt", "created_at"]
    list_filter = ["verdict", "agent"]
    search_fields = ["strategy__id__exact", "agent__name"]
    date_hierarchy = "created_at"
    list_select_related = [
        "strategy__current_version",
        "agent",
        "attempt__agent",
        "attempt__skill",
    ]


class MemoryReleaseEntryInline(ViewOnlyTabularInline):
    model = MemoryReleaseEntry
    fields = ["strategy_version", "skill"]
    readonly_fields = fields
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("strategy_version", "skill")


@admin.register(MemoryRelease)
class MemoryReleaseAdmin(ViewOnlyAdmin):
    """Published and rolled back on the oversight pages, through the services."""

    inlines = [MemoryReleaseEntryInline]
    list_display = [
        "number",
        "created_at",
        "created_by",
        "strategies",
        "restored_from",
        "current",
        "note",
    ]
    search_fields = ["number__exact", "note"]
    date_hierarchy = "created_at"
    list_select_related = ["created_by", "restored_from"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                entry_count=Count("entries"),
                is_current=Exists(CurrentRelease.objects.filter(release=OuterRef("pk"))),
            )
        )

    @admin.display(description="strategies", ordering="entry_count")
    def strategies(self, release):
        return release.entry_count

    @admin.display(boolean=True, description="current")
    def current(self, release):
        return release.is_current


@admin.register(MemoryReleaseEntry)
class MemoryReleaseEntryAdmin(ViewOnlyAdmin):
    list_display = ["release", "strategy_version", "skill"]
    list_filter = ["release"]
    search_fields = ["skill__key", "strategy_version__strategy__id__exact"]
    list_select_related = ["release", "strategy_version", "skill"]


@admin.register(CurrentRelease)
class CurrentReleaseAdmin(ViewOnlyAdmin):
    """Moved by publishing or rolling back, never by hand."""

    list_display = ["release", "changed_at", "changed_by"]
    list_select_related = ["release", "changed_by"]
