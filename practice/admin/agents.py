"""The admin for agents, their boundaries and their keys.

Every change here is governed: agents are created and updated, boundaries set and keys issued
or revoked through practice.services.agents, so each one lands in the audit log.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils import timezone

from practice.models import Agent, AgentBoundary, AgentKey
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
