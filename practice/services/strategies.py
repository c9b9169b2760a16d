"""Strategies, their immutable versions, and the memory releases agents pull."""

import hashlib

from django.db import transaction
from django.db.models import Max

from practice.models import (
    CurrentRelease,
    MemoryRelease,
    MemoryReleaseEntry,
    Strategy,
    StrategyVersion,
)
from practice.services.errors import PracticeError
from taxonomy.signals import record_change

# Which status a strategy may move to from which.
TRANSITIONS = {
    Strategy.Status.FILTERED: {Strategy.Status.PROPOSED, Strategy.Status.REJECTED},
    Strategy.Status.PROPOSED: {Strategy.Status.LIVE, Strategy.Status.REJECTED},
    Strategy.Status.LIVE: {Strategy.Status.RETIRED},
    Strategy.Status.REJECTED: {Strategy.Status.PROPOSED},
    Strategy.Status.RETIRED: {Strategy.Status.PROPOSED},
}


def strategy_snapshot(strategy):
    version = strategy.current_version
    return {
        "skill": strategy.skill.key,
        "status": strategy.status,
        "revision": strategy.revision,
        "version": version.number if version else None,
        "when": version.when_text if version else None,
        "do": version.do_text if version else None,
        "because": version.because_text if version else None,
    }


def propose_strategy(
    *, skill, when, do, because, origin=Strategy.Origin.COACH, actor=None, filtered_reason=""
):
    """A new strategy with its first version, proposed (or filtered, with the reason)."""
    status = Strategy.Status.FILTERED if filtered_reason else Strategy.Status.PROPOSED
    source = (
        StrategyVersion.Source.PERSON
        if origin == Strategy.Origin.PERSON
        else StrategyVersion.Source.COACH
    )
    with transaction.atomic():
        strategy = Strategy.objects.create(
            skill=skill, status=status, origin=origin, filtered_reason=filtered_reason
        )
        strategy.current_version = StrategyVersion.objects.create(
            strategy=strategy,
            number=1,
            when_text=when,
            do_text=do,
            because_text=because,
            source=source,
            created_by=_user_or_none(actor),
        )
        strategy.save(update_fields=["current_version"])
        record_change(
            actor=actor,
            action=f"strategy.{status}",
            object_type="strategy",
            object_id=strategy.pk,
            after=strategy_snapshot(strategy),
        )
    return strategy


def revise_strategy(strategy, *, when, do, because, actor=None, source=StrategyVersion.Source.EDIT):
    """Add a new version with the given text; earlier versions stay as they were."""
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
        before = strategy_snapshot(strategy)
        number = (strategy.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        strategy.current_version = StrategyVersion.objects.create(
            strategy=strategy,
            number=number,
            when_text=when,
            do_text=do,
            because_text=because,
            source=source,
            created_by=_user_or_none(actor),
        )
        strategy.revision += 1
        strategy.save(update_fields=["current_version", "revision", "updated_at"])
        record_change(
            actor=actor,
            action="strategy.edited",
            object_type="strategy",
            object_id=strategy.pk,
            before=before,
            after=strategy_snapshot(strategy),
        )
    return strategy


def change_status(strategy, status, *, actor=None, reason=""):
    """Move a strategy to `status` when the transition is allowed."""
    with transaction.atomic():
        strategy = Strategy.objects.select_for_update().get(pk=strategy.pk)
        if status not in TRANSITIONS[strategy.status]:
            raise PracticeError(
                f"Strategy {strategy.pk} is {strategy.get_status_display().lower()}; "
                f"it cannot become {Strategy.Status(status).label.lower()}."
            )
        before = strategy_snapshot(strategy)
        strategy.status = status
        strategy.revision += 1
        strategy.save(update_fields=["status", "revision", "updated_at"])
        record_change(
            actor=actor,
            action=f"strategy.{status}",
            object_type="strategy",
            object_id=strategy.pk,
            before=before,
            after=strategy_snapshot(strategy),
            reason=reason,
        )
    return strategy


# --- Memory releases -------------------------------------------------------------------------------


def current_release():
    pointer = CurrentRelease.objects.select_related("release").first()
    return pointer.release if pointer else None


def publish_release(*, actor=None, note=""):
    """Snapshot the current versions of all live strategies as the next numbered release."""
    with transaction.atomic():
        entries = list(
            StrategyVersion.objects.filter(current_of__status=Strategy.Status.LIVE).values_list(
                "pk", "strategy__skill_id"
            )
        )
        release = _create_release(entries, actor=actor, note=note)
        record_change(
            actor=actor,
            action="release.published",
            object_type="memory_release",
            object_id=release.number,
            after={"number": release.number, "strategies": len(entries), "note": note},
        )
    return release


def roll_back_to(release, *, actor=None, reason=""):
    """Make an earlier release's content current again, as a new release that says so."""
    with transaction.atomic():
        previous = current_release()
        if previous and previous.content_hash == release.content_hash:
            raise PracticeError(f"Release {release.number} is already what agents pull.")
        entries = list(release.entries.values_list("strategy_version_id", "skill_id"))
        restored = _create_release(
            entries,
            actor=actor,
            note=reason or f"Rollback to release {release.number}",
            restored_from=release,
        )
        record_change(
            actor=actor,
            action="release.rolled_back",
            object_type="memory_release",
            object_id=restored.number,
            before={"number": previous.number if previous else None},
            after={"number": restored.number, "restored_from": release.number},
            reason=reason,
        )
    return restored


def _create_release(entries, *, actor, note, restored_from=None):
    """The next release holding ``entries``, (strategy version id, skill id) pairs, made current.

    Read as plain pairs, not as versions with their strategies: a release holds every live
    strategy, and with 20,000 of them building those objects took half of the 1.6 s a publish
    took on PostgreSQL (now about 0.8 s, mostly the database writing the 20,000 entries)."""
    # The unique release number refuses a concurrent publish instead of forking the sequence.
    top = MemoryRelease.objects.aggregate(top=Max("number"))["top"] or 0
    entries = sorted(entries)
    ids = [version_id for version_id, _ in entries]
    release = MemoryRelease.objects.create(
        number=top + 1,
        created_by=_user_or_none(actor),
        note=note,
        content_hash=hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest(),
        restored_from=restored_from,
    )
    MemoryReleaseEntry.objects.bulk_create(
        MemoryReleaseEntry(release_id=release.pk, strategy_version_id=version_id, skill_id=skill_id)
        for version_id, skill_id in entries
    )
    CurrentRelease.objects.update_or_create(
        singleton=True, defaults={"release": release, "changed_by": _user_or_none(actor)}
    )
    return release


def _user_or_none(actor):
    return actor if getattr(actor, "is_authenticated", False) else None
