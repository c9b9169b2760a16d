"""A strategy's history: its versions with the word diff of each against the one before, the
memory releases that carried them, and the decisions on it."""

from dataclasses import dataclass

from oversight.models import ReviewDecision
from oversight.selectors.diffs import word_diff
from practice.models import MemoryReleaseEntry


@dataclass
class VersionView:
    version: object
    changes: dict  # field label -> diff segments against the version before (empty: first)
    releases: list  # numbers of the memory releases that contain it
    current: bool


FIELDS = (("when", "when_text"), ("do", "do_text"), ("because", "because_text"))


def strategy_history(strategy):
    """Every version of a strategy (newest first) with its diff against the one before, the
    releases that carried it, and every decision on the strategy (newest first)."""
    versions = list(strategy.versions.select_related("created_by").order_by("number"))
    released = {}
    for version_id, number in MemoryReleaseEntry.objects.filter(
        strategy_version__strategy=strategy
    ).values_list("strategy_version_id", "release__number"):
        released.setdefault(version_id, []).append(number)
    views = []
    previous = None
    for version in versions:
        changes = {}
        if previous is not None:
            changes = {
                label: word_diff(getattr(previous, name), getattr(version, name))
                for label, name in FIELDS
            }
        views.append(
            VersionView(
                version=version,
                changes=changes,
                releases=sorted(released.get(version.pk, [])),
                current=version.pk == strategy.current_version_id,
            )
        )
        previous = version
    decisions = (
        ReviewDecision.objects.filter(strategy=strategy)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )
    return {"versions": list(reversed(views)), "decisions": list(decisions)}
