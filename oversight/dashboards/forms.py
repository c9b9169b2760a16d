"""Forms of the dashboards. They only read the request; the rules live in the services."""

from django import forms

from practice.models import Agent
from taxonomy.models import Skill

DEFAULT_LEVEL = 1


class HeatmapFilterForm(forms.Form):
    level = forms.TypedChoiceField(coerce=int, required=False, label="Level")
    subtree = forms.ChoiceField(required=False, label="Subtree")
    agents = forms.MultipleChoiceField(required=False, label="Agents")

    def __init__(self, data, *, depth, **kwargs):
        if not data.get("level"):
            # Shown and used when the request names no level.
            data = data.copy()
            data["level"] = str(min(DEFAULT_LEVEL, depth))
        super().__init__(data, **kwargs)
        self.depth = depth
        self.fields["level"].choices = [(level, f"level {level}") for level in range(depth + 1)]
        self.fields["subtree"].choices = [("", "whole taxonomy")] + [
            (key, key)
            for key in Skill.objects.filter(active=True, depth__lt=max(depth, 1))
            .order_by("key")
            .values_list("key", flat=True)
        ]
        self.fields["agents"].choices = [
            (name, f"{name} (simulation)" if simulated else name)
            for name, simulated in Agent.objects.filter(active=True)
            .order_by("name")
            .values_list("name", "simulated")
        ]

    def options(self, name):
        """(value, label, selected) of a field's choices, for a plain <select> in the template:
        Django renders each option through a template, slow for hundreds of agents."""
        chosen = self.data.getlist(name) if hasattr(self.data, "getlist") else []
        chosen = {str(value) for value in chosen} or {str(self.data.get(name, ""))}
        return [
            (str(value), label, str(value) in chosen) for value, label in self.fields[name].choices
        ]

    def level_options(self):
        return self.options("level")

    def subtree_options(self):
        return self.options("subtree")

    def agent_options(self):
        return self.options("agents")

    def filters(self):
        """(level, subtree skill or None, agent ids); invalid fields fall back to their default."""
        self.is_valid()
        data = self.cleaned_data
        level = data.get("level")
        if level in (None, ""):  # a level the taxonomy does not have
            level = min(DEFAULT_LEVEL, self.depth)
        subtree = None
        if data.get("subtree"):
            subtree = Skill.objects.get(key=data["subtree"])
        agent_ids = list(
            Agent.objects.filter(name__in=data.get("agents") or []).values_list("pk", flat=True)
        )
        return level, subtree, agent_ids


class BoundariesForm(forms.Form):
    skills = forms.MultipleChoiceField(
        required=False,
        label="Authorized subtrees",
        help_text="The agent learns, practices and pulls memory only inside these subtrees.",
        widget=forms.SelectMultiple(attrs={"size": 12}),
    )
    reason = forms.CharField(required=False, max_length=500, label="Why")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["skills"].choices = [
            (key, key) for key in Skill.objects.order_by("key").values_list("key", flat=True)
        ]


class KeyForm(forms.Form):
    label = forms.CharField(required=False, max_length=100)
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(required=False, max_length=500)
