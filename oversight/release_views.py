"""Memory release pages: every release, what changed between two, and rolling back."""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from oversight.selectors import word_diff
from practice.models import MemoryRelease, MemoryReleaseEntry
from practice.services.errors import PracticeError
from practice.services.strategies import current_release, roll_back_to

RELEASES_PER_PAGE = 50

can_read = permission_required("practice.view_memoryrelease", raise_exception=True)
can_operate = permission_required("oversight.operate", raise_exception=True)


class RollbackForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        help_text="Why agents should go back to this release (recorded in the audit log).",
    )


class CompareForm(forms.Form):
    older = forms.IntegerField(min_value=1)
    newer = forms.IntegerField(min_value=1)


@login_required
@can_read
def releases(request):
    compare = CompareForm(request.GET or None)
    if compare.is_valid():
        return redirect(
            "releases:diff", compare.cleaned_data["older"], compare.cleaned_data["newer"]
        )
    listed = (
        MemoryRelease.objects.select_related("created_by", "restored_from")
        .annotate(strategies=Count("entries"))
        .order_by("-number")
    )
    return render(
        request,
        "oversight/releases/list.html",
        {
            "page": Paginator(listed, RELEASES_PER_PAGE).get_page(request.GET.get("page")),
            "current": current_release(),
            "can_operate": request.user.has_perm("oversight.operate"),
            "rollback_form": RollbackForm(),
        },
    )


@login_required
@can_read
def diff(request, older, newer):
    older_release = get_object_or_404(MemoryRelease, number=older)
    newer_release = get_object_or_404(MemoryRelease, number=newer)
    return render(
        request,
        "oversight/releases/diff.html",
        {
            "older": older_release,
            "newer": newer_release,
            "changes": compare_releases(older_release, newer_release),
        },
    )


@login_required
@can_operate
@require_POST
def roll_back(request, number):
    release = get_object_or_404(MemoryRelease, number=number)
    form = RollbackForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Rollback to release {number} needs a reason.")
        return redirect("releases:list")
    try:
        restored = roll_back_to(release, actor=request.user, reason=form.cleaned_data["reason"])
    except PracticeError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"Release {restored.number} is now current, with the content of release {number}; "
            "agents get it on their next pull.",
        )
    return redirect("releases:list")


# --- Comparing two releases ----------------------------------------------------------------------


@dataclass(frozen=True)
class StrategyChange:
    strategy_id: int
    skill: str
    older: object  # the StrategyVersion in the older release, or None
    newer: object  # the StrategyVersion in the newer release, or None

    @property
    def fields(self):
        """(label, word-diff segments) for when, do and because."""
        return [
            (label, word_diff(getattr(self.older, name, ""), getattr(self.newer, name, "")))
            for label, name in (
                ("When", "when_text"),
                ("Do", "do_text"),
                ("Because", "because_text"),
            )
        ]


@dataclass(frozen=True)
class ReleaseChanges:
    added: list
    removed: list
    edited: list
    unchanged: int


def compare_releases(older, newer):
    """Strategies added, removed and edited (another version) from `older` to `newer`."""
    before, after = _versions_by_strategy(older), _versions_by_strategy(newer)

    def change(strategy_id):
        version = after.get(strategy_id) or before[strategy_id]
        return StrategyChange(
            strategy_id,
            version.strategy.skill.key,
            before.get(strategy_id),
            after.get(strategy_id),
        )

    def ordered(ids):
        return sorted((change(pk) for pk in ids), key=lambda item: (item.skill, item.strategy_id))

    both = before.keys() & after.keys()
    edited = {pk for pk in both if before[pk].pk != after[pk].pk}
    return ReleaseChanges(
        added=ordered(after.keys() - before.keys()),
        removed=ordered(before.keys() - after.keys()),
        edited=ordered(edited),
        unchanged=len(both) - len(edited),
    )


def _versions_by_strategy(release):
    entries = MemoryReleaseEntry.objects.filter(release=release).select_related(
        "strategy_version__strategy__skill"
    )
    return {entry.strategy_version.strategy_id: entry.strategy_version for entry in entries}
