"""The admin for review decisions and the audit log: both are records, shown read-only."""

from django.contrib import admin

from oversight.models import AuditEvent, ReviewClaim, ReviewDecision
from taxonomy.admin import ViewOnlyAdmin


@admin.register(ReviewDecision)
class ReviewDecisionAdmin(ViewOnlyAdmin):
    """Decisions are made in the review queue and never change afterwards."""

    list_display = ["created_at", "actor", "action", "item", "reason_code", "revision"]
    list_filter = ["action", "reason_code"]
    search_fields = [
        "comment",
        "actor__username",
        "strategy__id__exact",
        "taxonomy_proposal__key",
    ]
    date_hierarchy = "created_at"
    list_select_related = [
        "actor",
        "strategy__current_version",
        "taxonomy_proposal",
        "scenario__skill",
    ]

    @admin.display(description="item")
    def item(self, decision):
        return decision.strategy or decision.taxonomy_proposal or decision.scenario


@admin.register(AuditEvent)
class AuditEventAdmin(ViewOnlyAdmin):
    """Append-only and hash-chained: the admin can only read it (exports live on the audit page)."""

    list_display = [
        "sequence",
        "created_at",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "reason",
    ]
    list_filter = ["actor_type", "object_type", "action"]
    search_fields = ["actor_label", "action", "object_type", "object_id", "reason"]
    date_hierarchy = "created_at"
    ordering = ["-sequence"]


@admin.register(ReviewClaim)
class ReviewClaimAdmin(ViewOnlyAdmin):
    list_display = ["holder", "item", "claimed_at", "expires_at"]
    search_fields = ["holder__username", "strategy__id__exact", "taxonomy_proposal__key"]
    list_select_related = [
        "holder",
        "strategy__current_version",
        "taxonomy_proposal",
        "scenario__skill",
    ]

    @admin.display(description="item")
    def item(self, claim):
        return claim.strategy or claim.taxonomy_proposal or claim.scenario
