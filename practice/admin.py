"""The admin for agents, attempts, strategies, releases, competency and practice.

Governed changes (agents, boundaries, keys) go through practice.services so they are audited;
records the API, the coach or the services write are shown read-only.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.text import Truncator

from practice.models import (
    Agent,
    AgentBoundary,
    AgentKey,
    Attempt,
    CompetencyEstimate,
    CompetencySnapshot,
    CurrentRelease,
    MemoryRelease,
    MemoryReleaseEntry,
    PracticeAssignment,
    PracticeScenario,
    Reflection,
    Strategy,
    StrategyEvidence,
    StrategyFeedback,
    StrategyUse,
    StrategyVersion,
    TraceStep,
)
from practice.services import PracticeError
from practice.services.agents import (
    agent_snapshot,
    create_agent,
    issue_key,
    revoke_key,
    set_boundaries,
)
from taxonomy.admin import (
    AddFormAdmin,
    ViewOnlyAdmin,
    ViewOnlyTabularInline,
    save_with_audit,
    take_over,
)
from taxonomy.models import Skill


def excerpt(text, words=12):
    return Truncator(text).words(words)


# --- Agents and keys ------------------------------------------------------------------------------


class AgentBoundaryInline(ViewOnlyTabularInline):
    model = AgentBoundary
    fields = ["skill", "created_at"]
    readonly_fields = fields
    show_change_link = False
    verbose_name_plural = "current boundaries"


class AgentForm(forms.ModelForm):
    boundary_skills = forms.ModelMultipleChoiceField(
        queryset=Skill.objects.all(),
        required=False,
        label="Boundaries",
        widget=AutocompleteSelectMultiple(Agent._meta.get_field("boundaries"), admin.site),
        help_text="The agent learns, practices and pulls memory only in the subtrees rooted at "
        "these skills. Changes are recorded in the audit log.",
    )

    class Meta:
        model = Agent
        fields = ["name", "description", "active", "simulated"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None and "boundary_skills" in self.fields:
            self.fields["boundary_skills"].initial = list(self.instance.boundaries.all())


@admin.register(Agent)
class AgentAdmin(admin.ModelAdmin):
    form = AgentForm
    inlines = [AgentBoundaryInline]
    list_display = ["name", "active", "simulated", "boundary_keys", "usable_keys", "created_at"]
    list_filter = ["active", "simulated"]
    search_fields = ["name", "description"]
    date_hierarchy = "created_at"
    readonly_fields = ["name", "created_at"]

    def get_queryset(self, request):
        now = timezone.now()
        usable = Q(keys__revoked_at__isnull=True) & (
            Q(keys__expires_at__isnull=True) | Q(keys__expires_at__gt=now)
        )
        return (
            super()
            .get_queryset(request)
            .annotate(usable_key_count=Count("keys", filter=usable, distinct=True))
            .prefetch_related("boundaries")
        )

    def get_inlines(self, request, obj):
        return [] if obj is None else self.inlines

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "description", "simulated", "boundary_skills"]
        fields = ["name", "description", "active", "simulated"]
        if self.has_change_permission(request, obj):
            fields.append("boundary_skills")
        return [*fields, "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # The name is the agent's identity in the audit log: set once.
        return [] if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None):
        # Attempts, keys and audit events refer to agents: deactivate instead.
        return False

    @admin.display(description="boundaries")
    def boundary_keys(self, agent):
        return ", ".join(sorted(skill.key for skill in agent.boundaries.all())) or "—"

    @admin.display(description="usable keys", ordering="usable_key_count")
    def usable_keys(self, agent):
        return agent.usable_key_count

    def save_model(self, request, obj, form, change):
        skill_keys = [skill.key for skill in form.cleaned_data.get("boundary_skills", [])]
        if not change:
            agent = create_agent(
                name=obj.name,
                description=obj.description,
                simulated=obj.simulated,
                boundaries=skill_keys,
                actor=request.user,
            )
            take_over(obj, agent)
            return
        save_with_audit(
            obj,
            actor=request.user,
            snapshot=agent_snapshot,
            action="agent.updated",
            object_type="agent",
            object_id=obj.name,
        )
        if "boundary_skills" in form.cleaned_data:
            set_boundaries(obj, skill_keys, actor=request.user, reason="admin")


@admin.register(AgentBoundary)
class AgentBoundaryAdmin(ViewOnlyAdmin):
    """Changed on the agent's page, through set_boundaries."""

    list_display = ["agent", "skill", "created_at"]
    list_filter = ["agent"]
    search_fields = ["agent__name", "skill__key"]
    list_select_related = ["agent", "skill"]


class AgentKeyAddForm(forms.ModelForm):
    class Meta:
        model = AgentKey
        fields = ["agent", "label", "expires_at"]

    def clean_expires_at(self):
        # issue_key refuses a past expiry too; saying it here keeps the form on screen.
        expires_at = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise ValidationError("The expiry of a new key must lie in the future.")
        return expires_at


class UsableKeyFilter(admin.SimpleListFilter):
    title = "usable"
    parameter_name = "usable"

    def lookups(self, request, model_admin):
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.usable()
        if self.value() == "no":
            return queryset.exclude(pk__in=AgentKey.objects.usable().values("pk"))
        return queryset


@admin.register(AgentKey)
class AgentKeyAdmin(AddFormAdmin):
    """Keys are issued through issue_key (the key is shown once) and never edited or deleted."""

    add_form = AgentKeyAddForm
    list_display = [
        "agent",
        "label",
        "prefix",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "usable",
    ]
    list_filter = [UsableKeyFilter, ("revoked_at", admin.EmptyFieldListFilter), "agent"]
    search_fields = ["prefix", "label", "agent__name"]
    date_hierarchy = "created_at"
    list_select_related = ["agent"]
    autocomplete_fields = ["agent"]
    actions = ["revoke_keys"]
    # hashed_key is never shown: it is in no field list.
    fields = [
        "agent",
        "label",
        "prefix",
        "usable",
        "created_at",
        "created_by",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    readonly_fields = fields

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_revoke_permission(self, request):
        return request.user.has_perm("practice.change_agentkey")

    @admin.display(boolean=True, description="usable")
    def usable(self, key):
        return key.is_usable and key.agent.active

    def save_model(self, request, obj, form, change):
        issued = issue_key(
            form.cleaned_data["agent"],
            label=form.cleaned_data["label"],
            expires_at=form.cleaned_data["expires_at"],
            actor=request.user,
        )
        take_over(obj, issued.key)
        self.message_user(
            request,
            f"The new key for {issued.key.agent.name} is {issued.secret} — copy it now: "
            "it is stored only as a hash and will not be shown again.",
            messages.SUCCESS,
        )

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke_keys(self, request, queryset):
        revoked = 0
        for key in queryset.select_related("agent"):
            try:
                revoke_key(key, actor=request.user, reason="admin")
            except PracticeError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                revoked += 1
        if revoked:
            self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)


# --- Attempts and reflections ---------------------------------------------------------------------


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


# --- Strategies and memory releases ----------------------------------------------------------------


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


# --- Competency -----------------------------------------------------------------------------------


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


# --- Practice scenarios and assignments -----------------------------------------------------------


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
