"""The admin for the skill taxonomy; every write goes through taxonomy.services so it is audited.

It also holds the few admin helpers the practice and oversight admins share: taxonomy is the one
app both may import.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import csrf_protect_m
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.urls import reverse

from taxonomy.models import Skill, TaxonomyProposal
from taxonomy.services import (
    TaxonomyError,
    create_skill,
    delete_skill,
    set_skill_active,
    skill_snapshot,
)
from taxonomy.signals import record_change

# --- Shared by the admins of all three apps ---------------------------------------------------------


class ViewOnlyMixin:
    """For records that services or the API write, or that never change: the admin only shows them."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyAdmin(ViewOnlyMixin, admin.ModelAdmin):
    pass


class ViewOnlyTabularInline(ViewOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = True


class AddFormAdmin(admin.ModelAdmin):
    """An admin whose add page has its own form, showing just the fields that form lists."""

    add_form = None

    def get_fields(self, request, obj=None):
        if obj is None:
            return list(self.add_form.Meta.fields)
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else super().get_readonly_fields(request, obj)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, **kwargs)


def take_over(form_instance, saved):
    """Make the admin's unsaved form instance stand for the row a service just created.

    The admin keeps using its own instance after save_model (change log, redirect), so it must
    carry the new primary key and the values the service set.
    """
    form_instance.pk = saved.pk
    form_instance.refresh_from_db()
    form_instance._state.adding = False


def save_with_audit(obj, *, actor, snapshot, action, object_type, object_id):
    """Save an admin edit and record it in the audit log when it changed anything.

    Stands in for an update service the app does not have yet; it runs inside the admin's
    transaction, so the audit event commits with the change.
    """
    before = snapshot(type(obj)._default_manager.get(pk=obj.pk))
    obj.save()
    after = snapshot(obj)
    if before != after:
        record_change(
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
            reason="admin",
        )


# --- Skills ---------------------------------------------------------------------------------------

SKILL_FIELDS = ["description", "kind", "origin", "sensitive", "mastery_threshold", "active"]


class SkillAddForm(forms.ModelForm):
    class Meta:
        model = Skill
        fields = ["key", "name", *SKILL_FIELDS]

    def clean_key(self):
        # create_skill refuses a missing parent too; saying it here keeps the form on screen.
        key = self.cleaned_data["key"]
        if "." in key:
            parent_key = key.rsplit(".", 1)[0]
            if not Skill.objects.filter(key=parent_key).exists():
                raise ValidationError(f"Its parent {parent_key} does not exist: add it first.")
        return key


@admin.register(Skill)
class SkillAdmin(AddFormAdmin):
    add_form = SkillAddForm
    list_display = ["key", "name", "kind", "origin", "sensitive", "mastery_threshold", "active"]
    list_filter = ["kind", "origin", "sensitive", "active"]
    search_fields = ["key", "name"]
    date_hierarchy = "created_at"
    fields = ["key", "parent", "depth", "name", *SKILL_FIELDS, "created_at", "updated_at"]
    readonly_fields = ["key", "parent", "depth", "created_at", "updated_at"]
    actions = ["deactivate_skills", "activate_skills"]

    def save_model(self, request, obj, form, change):
        if not change:
            fields = {name: form.cleaned_data[name] for name in SKILL_FIELDS}
            skill = create_skill(
                key=obj.key, name=obj.name, actor=request.user, reason="admin", **fields
            )
            take_over(obj, skill)
            return
        save_with_audit(
            obj,
            actor=request.user,
            snapshot=skill_snapshot,
            action="skill.updated",
            object_type="skill",
            object_id=obj.key,
        )

    @csrf_protect_m
    def delete_view(self, request, object_id, extra_context=None):
        if request.method != "POST":
            return super().delete_view(request, object_id, extra_context)
        # A confirmed deletion goes through the service, which refuses skills in use.
        skill = self.get_object(request, unquote(object_id))
        if not self.has_delete_permission(request, skill):
            raise PermissionDenied
        if skill is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        skill_id, skill_display = skill.pk, str(skill)
        try:
            with transaction.atomic():
                self.log_deletions(request, [skill])
                delete_skill(skill, actor=request.user, reason="admin")
        except TaxonomyError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:taxonomy_skill_change", args=[skill_id]))
        return self.response_delete(request, skill_display, skill_id)

    def delete_model(self, request, obj):
        try:
            delete_skill(obj, actor=request.user, reason="admin")
        except TaxonomyError as error:
            self.message_user(request, str(error), messages.ERROR)

    def delete_queryset(self, request, queryset):
        # Deepest first: a parent is protected by its children until they are gone.
        for skill in sorted(queryset, key=lambda skill: skill.depth, reverse=True):
            self.delete_model(request, skill)

    @admin.action(description="Deactivate selected skills", permissions=["change"])
    def deactivate_skills(self, request, queryset):
        for skill in queryset:
            set_skill_active(skill, False, actor=request.user, reason="admin")
        self.message_user(request, f"Deactivated {queryset.count()} skill(s).", messages.SUCCESS)

    @admin.action(description="Activate selected skills", permissions=["change"])
    def activate_skills(self, request, queryset):
        for skill in queryset:
            set_skill_active(skill, True, actor=request.user, reason="admin")
        self.message_user(request, f"Activated {queryset.count()} skill(s).", messages.SUCCESS)


# --- Taxonomy proposals ---------------------------------------------------------------------------


@admin.register(TaxonomyProposal)
class TaxonomyProposalAdmin(ViewOnlyAdmin):
    """Decided in the review queue, where every decision is recorded and audited."""

    list_display = [
        "key",
        "name",
        "kind",
        "parent",
        "proposer_type",
        "proposer_name",
        "status",
        "created_at",
        "decided_at",
    ]
    list_filter = ["status", "kind", "proposer_type"]
    search_fields = ["key", "name", "rationale", "proposer_name"]
    date_hierarchy = "created_at"
    list_select_related = ["parent"]
