"""Forms of the review pages. They only read the request; the rules live in the services."""

import json
from datetime import timedelta

from django import forms

from oversight.models import ReviewDecision
from oversight.selectors import ITEM_FIELDS, QueueFilters
from oversight.services import review
from practice.models import Agent
from taxonomy.models import Skill

# Choosing in these fields filters at once; typed fields filter on Enter.
AUTO = {"data-auto-filter": ""}
AGES = {
    "": None,
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
REASON_CHOICES = [("", "Choose a reason…"), *ReviewDecision.Reason.choices]


class QueueFilterForm(forms.Form):
    skill = forms.CharField(required=False, label="Skill subtree")
    agent = forms.ChoiceField(required=False, widget=forms.Select(attrs=AUTO))
    older_than = forms.ChoiceField(
        required=False,
        label="Waiting",
        widget=forms.Select(attrs=AUTO),
        choices=[
            ("", "any time"),
            ("1h", "over an hour"),
            ("1d", "over a day"),
            ("7d", "over a week"),
            ("30d", "over a month"),
        ],
    )
    min_support = forms.IntegerField(required=False, min_value=1, label="Support at least")
    conflicts = forms.BooleanField(
        required=False, label="Conflicts only", widget=forms.CheckboxInput(attrs=AUTO)
    )
    kind = forms.ChoiceField(
        required=False,
        label="Items",
        widget=forms.Select(attrs=AUTO),
        choices=[
            ("", "all"),
            ("strategy", "strategies"),
            ("proposal", "taxonomy proposals"),
            ("scenario", "scenarios"),
        ],
    )
    sort = forms.ChoiceField(
        required=False,
        widget=forms.Select(attrs=AUTO),
        choices=[
            ("oldest", "oldest first"),
            ("newest", "newest first"),
            ("impact", "expected impact"),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].choices = [("", "any agent")] + [
            (name, name) for name in Agent.objects.order_by("name").values_list("name", flat=True)
        ]

    def filters(self):
        """The queue filters asked for; the invalid ones are left out."""
        if not self.is_bound:
            return QueueFilters()
        self.is_valid()  # cleaned_data keeps the valid fields only
        data = self.cleaned_data
        return QueueFilters(
            skill=(data.get("skill") or "").strip(),
            agent=data.get("agent") or "",
            older_than=AGES.get(data.get("older_than") or ""),
            min_support=data.get("min_support"),
            conflicts_only=bool(data.get("conflicts")),
            kind=data.get("kind") or "",
            sort=data.get("sort") or "oldest",
        )


class DecisionForm(forms.Form):
    revision = forms.IntegerField(widget=forms.HiddenInput)
    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))


class EditForm(DecisionForm):
    when = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))
    do = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}))
    because = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}))

    field_order = ["when", "do", "because", "comment"]


class RejectForm(DecisionForm):
    reason_code = forms.ChoiceField(choices=REASON_CHOICES, label="Reason")

    field_order = ["reason_code", "comment"]


class ResolveForm(DecisionForm):
    resolution = forms.ChoiceField(
        choices=[("replace", "Replace the live strategy"), ("keep_both", "Keep both")],
        widget=forms.RadioSelect,
    )


class RetireForm(DecisionForm):
    reason_code = forms.ChoiceField(choices=REASON_CHOICES, label="Reason", required=False)
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label="Why")


class ProposalAcceptForm(DecisionForm):
    parent = forms.ModelChoiceField(
        queryset=Skill.objects.order_by("key"), to_field_name="key", label="Parent"
    )
    leaf = forms.RegexField(
        regex=r"^[a-z][a-z0-9_]*$",
        label="Key below the parent",
        error_messages={
            "invalid": "Lowercase letters, digits and underscores, starting with a letter."
        },
    )
    name = forms.CharField(max_length=200)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    field_order = ["parent", "leaf", "name", "description", "comment"]

    def key(self):
        return f"{self.cleaned_data['parent'].key}.{self.cleaned_data['leaf']}"


class ScenarioEditForm(DecisionForm):
    prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}))
    difficulty = forms.FloatField(
        min_value=0,
        max_value=1,
        help_text="0 (easiest) to 1 (hardest).",
        widget=forms.NumberInput(attrs={"step": "0.01"}),
    )
    expected_actions = forms.CharField(
        required=False,
        label="Expected actions (JSON)",
        help_text='A list of {"name": …, "arguments": {…}}, in order; empty for none.',
        widget=forms.Textarea(attrs={"rows": 6, "class": "code", "spellcheck": "false"}),
    )

    field_order = ["prompt", "difficulty", "expected_actions", "comment"]

    def clean_expected_actions(self):
        """The actions read from the JSON text, or None when it is empty or null."""
        text = self.cleaned_data["expected_actions"].strip()
        if not text:
            return None
        try:
            actions = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"This is not valid JSON: {error.msg} (line {error.lineno}, column "
                f"{error.colno}). Nothing was changed."
            ) from None
        try:
            return review.read_expected_actions(actions)
        except review.InvalidDecision as error:
            raise forms.ValidationError(str(error)) from None


class BulkForm(forms.Form):
    items = forms.MultipleChoiceField(required=True)
    decision = forms.ChoiceField(choices=[("accept", "Accept"), ("reject", "Reject")])
    reason_code = forms.ChoiceField(choices=REASON_CHOICES, required=False, label="Reason")
    comment = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any "kind:id:revision" the page offered; the services judge each one.
        self.fields["items"].choices = [
            (value, value) for value in (self.data.getlist("items") if self.data else [])
        ]

    def clean_items(self):
        selection = []
        for value in self.cleaned_data["items"]:
            kind, _, rest = value.partition(":")
            pk, _, revision = rest.partition(":")
            if kind not in ITEM_FIELDS or not pk.isdigit() or not revision.isdigit():
                raise forms.ValidationError(f"{value} is not a queue item.")
            selection.append((kind, int(pk), int(revision)))
        return selection
